"""Extractive question answering (SQuAD-style): the answer is a span of the context.

Features: question + context windows with `doc_stride` overlap and offset mappings back
to the context's characters; the answer's first/last sub-tokens are the targets, or the
<s> token when the answer is not inside the window (or there is none: SQuAD v2).
Evaluation: the best span over all windows of a question (n-best starts and ends, a
maximum answer length, SQuAD v2's null answer where the task has one). Export: JSON
predictions {id: text} and SQuAD-format labels; scored by SQuAD v1.1's EM/F1 (MLQA's
language-aware normalisation for the `mlqa` metric).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sweeper.errors import DataError
from sweeper.scoring import metrics
from sweeper.tasktypes.base import EvalContext, Job, TaskEntry, TaskType, write_text

N_BEST = 20
MAX_ANSWER_TOKENS = 30


def answer_span(offsets: list, seq_ids: list, start_char: int, end_char: int
                ) -> tuple[int, int]:
    """Token span of [start_char, end_char) inside the window's context, else (0, 0)."""
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx or offsets[ctx[0]][0] > start_char or offsets[ctx[-1]][1] < end_char:
        return 0, 0
    start = next(i for i in ctx if offsets[i][1] > start_char)
    end = next(i for i in reversed(ctx) if offsets[i][0] < end_char)
    return start, end


def encode_windows(batch: dict, tok: Any, max_length: int, stride: int) -> dict[str, list]:
    questions = [q.lstrip() for q in batch["question"]]
    enc = tok(questions, batch["context"], truncation="only_second", max_length=max_length,
              stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    out: dict[str, list] = {"input_ids": [], "start_positions": [], "end_positions": [],
                            "example_id": [], "offsets": []}
    for w, ids in enumerate(enc["input_ids"]):
        ex = enc["overflow_to_sample_mapping"][w]
        seq_ids = enc.sequence_ids(w)
        offsets = enc["offset_mapping"][w]
        answers = batch["answers"][ex]
        if answers["text"]:
            start_char = answers["answer_start"][0]
            s, e = answer_span(offsets, seq_ids, start_char, start_char + len(answers["text"][0]))
        else:
            s, e = 0, 0
        out["input_ids"].append(ids)
        out["start_positions"].append(s)
        out["end_positions"].append(e)
        out["example_id"].append(batch["id"][ex])
        out["offsets"].append([list(o) if sid == 1 else [-1, -1]
                               for o, sid in zip(offsets, seq_ids)])
    return out


def best_span(windows: list[tuple[Any, list]], context: str, allow_null: bool) -> str:
    """Highest-scoring answer text over a question's windows ('' for the null answer).

    Per window, the N_BEST best starts and ends among context tokens form a score matrix
    (start + end) masked to spans of at most MAX_ANSWER_TOKENS; the first best span wins
    ties, as a loop over starts then ends would choose."""
    import numpy as np

    best_text, best_score = "", -np.inf
    null_score = np.inf
    for logits, offsets in windows:
        start, end = logits[:, 0], logits[:, 1]
        null_score = min(null_score, float(start[0] + end[0]))
        valid = np.zeros(len(start), dtype=bool)
        valid[: len(offsets)] = [o[0] >= 0 for o in offsets]
        cand_s = np.array([i for i in np.argsort(start)[::-1][:N_BEST] if valid[i]], dtype=int)
        cand_e = np.array([i for i in np.argsort(end)[::-1][:N_BEST] if valid[i]], dtype=int)
        if not len(cand_s) or not len(cand_e):
            continue
        length = cand_e[None, :] - cand_s[:, None] + 1
        scores = start[cand_s][:, None] + end[cand_e][None, :]  # in the logits' own precision
        scores = np.where((length >= 1) & (length <= MAX_ANSWER_TOKENS), scores, -np.inf)
        flat = int(np.argmax(scores))
        score = float(scores.flat[flat])
        if score > best_score:
            s, e = cand_s[flat // len(cand_e)], cand_e[flat % len(cand_e)]
            best_score, best_text = score, context[offsets[s][0]:offsets[e][1]]
    if allow_null and null_score > best_score:
        return ""
    return best_text


def without_articles(examples: Any, taken: Any) -> tuple[Any, int]:
    """`examples` without the articles (titles) that hold a context of `taken` (XQuAD's
    paragraphs, from SQuAD v1.1 dev); how many articles were left out."""
    contexts = set(taken["context"])
    titles = examples["title"]
    dropped = {t for t, c in zip(titles, examples["context"]) if c in contexts}
    keep = [i for i, t in enumerate(titles) if t not in dropped]
    return examples.select(keep), len(dropped)


def read_squad(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed JSON in {path}: {exc}") from None
    return data["data"] if isinstance(data, dict) and "data" in data else data


class Qa(TaskType):
    name = "qa"
    columns = ("id", "context", "question", "answers")
    optional = ("title",)  # the article a paragraph comes from (SQuAD)
    metrics = ("squad", "mlqa")  # SQuAD v1.1's EM/F1; MLQA's language-aware normalisation
    family = "span"
    labelled = False
    export = "json"
    train_columns = ("input_ids", "start_positions", "end_positions")
    uses_doc_stride = True
    eval_batch = 32

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        return encode_windows(batch, tokenizer, max_length, min(doc_stride, max_length // 2))

    def num_outputs(self, task: TaskEntry, labels: list[str], tokenizer: Any) -> int:
        return 2  # start and end scores per sub-token

    def head(self, encoder: Any, num_outputs: int):
        from sweeper.model.heads import TokenHead

        return TokenHead(encoder.config.hidden_size, num_outputs)

    def loss(self, outputs, batch):
        import torch

        ce = torch.nn.functional.cross_entropy
        start, end = outputs.float().unbind(-1)
        return (ce(start, batch["start_positions"], reduction="sum")
                + ce(end, batch["end_positions"], reduction="sum")) / 2

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        """Answer the first questions of a split (all windows of each); write both files."""
        target = job.target
        examples = ctx.examples(job.data, job.lang, job.split)
        left_out = 0
        if getattr(job, "exclude", None) is not None:
            examples, left_out = without_articles(examples, ctx.examples(
                job.exclude, "en", job.exclude.eval_split))
        examples = examples.select(range(ctx.example_cap(len(examples))))
        keep = set(examples["id"])
        ds = ctx.features(job.data, job.lang, job.split)
        ds = ds.select([i for i, ex_id in enumerate(ds["example_id"]) if ex_id in keep])
        outputs: list = [None] * len(ds)
        for idx, scores in ctx.head_outputs(self, target, ds, self.eval_batch):
            result = scores.cpu().numpy()
            for row, i in enumerate(idx):
                outputs[i] = result[row]
        by_id: dict[str, list] = {}
        for ex_id, offsets, out in zip(ds["example_id"], ds["offsets"], outputs):
            by_id.setdefault(ex_id, []).append((out, offsets))
        preds, paragraphs = {}, []
        for row in examples:
            preds[row["id"]] = best_span(by_id.get(row["id"], []), row["context"],
                                         target.null_answers)
            answers = [{"text": t, "answer_start": s}
                       for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
            paragraphs.append({"context": row["context"], "qas": [
                {"id": row["id"], "question": row["question"], "answers": answers}]})
        pred_path, gold_path = ctx.export_paths(job)
        write_text(pred_path, json.dumps(preds, ensure_ascii=False))
        write_text(gold_path, json.dumps({"version": "1.1", "data": [
            {"title": f"{job.data.name}-{job.lang}-{job.split}", "paragraphs": paragraphs}]},
            ensure_ascii=False))
        return {"articles_left_out": left_out} if left_out else {}

    def score(self, task: TaskEntry, lang: str, predictions: Path, labels: Path
              ) -> dict[str, float]:
        preds, gold = read_squad(predictions), read_squad(labels)
        if not isinstance(preds, dict) or not isinstance(gold, list) or \
                not all(isinstance(v, str) for v in preds.values()):
            raise DataError(f"{predictions}: QA predictions must be {{id: text}} and labels "
                            "SQuAD format")
        norm = metrics.mlqa_normalize if task.metric == "mlqa" else metrics.squad_normalize
        try:
            return metrics.qa_em_f1(gold, preds, lang, norm)
        except (ValueError, ZeroDivisionError):
            raise DataError(f"{labels}: a question without answers, or no questions at all") \
                from None
        except (KeyError, TypeError) as exc:
            raise DataError(f"malformed SQuAD-format labels in {labels} ({exc})") from None


TYPE = Qa()
