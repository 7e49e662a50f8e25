"""Zero-shot evaluation of tagging and QA targets, exported in the XTREME layout.

Tagging: the tag of each word is read at its first sub-token and windows are stitched
back, so the export has exactly one line per word and a blank line per sentence. QA:
for each question, the best span over all its windows (n-best start/end search, a
maximum answer length, SQuAD v2's null answer where the task has one), mapped back to
the context's characters through the offset mapping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sweeper.scoring import xtreme
from sweeper.catalog import TaskSpec
from sweeper.data.features import label_names, load_examples
from sweeper.trial.stages import TrialContext
from sweeper.trial.stages.evaluate import head_scores

EVAL_BATCH = 32
N_BEST = 20
MAX_ANSWER_TOKENS = 30


def window_outputs(ctx: TrialContext, task: TaskSpec, ds) -> list[np.ndarray]:
    """Head outputs per window (tags: L x n_tags argmax; QA: L x 2 logits)."""
    out: list[np.ndarray | None] = [None] * len(ds)
    for idx, logits in head_scores(ctx, task, ds, EVAL_BATCH):
        result = (logits.argmax(-1) if task.type == "token_classification" else logits).cpu().numpy()
        for row, i in enumerate(idx):
            out[i] = result[row]
    return out  # type: ignore[return-value]


def stitch_tags(ds, outputs: list[np.ndarray], n_sentences: int, lengths: list[int]
                ) -> list[list[int]]:
    """One predicted tag id per word of every sentence, from its windows."""
    preds = [[0] * n for n in lengths[:n_sentences]]
    for ex, offset, pos, out in zip(ds["example"], ds["word_offset"], ds["word_pos"], outputs):
        for k, p in enumerate(pos):
            preds[ex][offset + k] = int(out[p])
    return preds


def best_span(windows: list[tuple[np.ndarray, list]], context: str, allow_null: bool) -> str:
    """Highest-scoring answer text over a question's windows ('' for the null answer)."""
    best_text, best_score = "", -np.inf
    null_score = np.inf
    for logits, offsets in windows:
        start, end = logits[:, 0], logits[:, 1]
        null_score = min(null_score, float(start[0] + end[0]))
        valid = np.array([o[0] >= 0 for o in offsets] + [False] * (len(start) - len(offsets)))
        cand_s = [i for i in np.argsort(start)[::-1][:N_BEST] if valid[i]]
        cand_e = [i for i in np.argsort(end)[::-1][:N_BEST] if valid[i]]
        for s in cand_s:
            for e in cand_e:
                if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                score = float(start[s] + end[e])
                if score > best_score:
                    best_score, best_text = score, context[offsets[s][0]:offsets[e][1]]
    if allow_null and null_score > best_score:
        return ""
    return best_text


def evaluate_tags(ctx: TrialContext, target: TaskSpec, lang: str, paths: tuple[Path, Path]
                  ) -> None:
    examples = load_examples(target, lang, target.eval_split, ctx.source)
    ds = ctx.features(target, lang, target.eval_split)
    n = len(examples) if not ctx.config.max_eval_examples else min(len(examples),
                                                                   ctx.config.max_eval_examples)
    ds = ds.filter(lambda r: r["example"] < n) if len(ds) and max(ds["example"]) >= n else ds
    names = label_names(target, ctx.source)
    gold = examples.select(range(n))["tags"]
    preds = stitch_tags(ds, window_outputs(ctx, target, ds), n, [len(g) for g in gold])
    xtreme.write_tags(paths[0], ([names[t] for t in sent] for sent in preds))
    xtreme.write_tags(paths[1], ([names[t] if t >= 0 else "O" for t in sent] for sent in gold))


def evaluate_qa(ctx: TrialContext, target: TaskSpec, lang: str, paths: tuple[Path, Path]) -> None:
    examples = load_examples(target, lang, target.eval_split, ctx.source)
    if ctx.config.max_eval_examples:
        examples = examples.select(range(min(len(examples), ctx.config.max_eval_examples)))
    keep = set(examples["id"])
    ds = ctx.features(target, lang, target.eval_split)
    ds = ds.filter(lambda r: r["example_id"] in keep)
    outputs = window_outputs(ctx, target, ds)
    by_id: dict[str, list] = {}
    for ex_id, offsets, out in zip(ds["example_id"], ds["offsets"], outputs):
        by_id.setdefault(ex_id, []).append((out, offsets))
    preds, paragraphs = {}, []
    for row in examples:
        preds[row["id"]] = best_span(by_id.get(row["id"], []), row["context"], target.null_answers)
        answers = [{"text": t, "answer_start": s}
                   for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
        paragraphs.append({"context": row["context"], "qas": [
            {"id": row["id"], "question": row["question"], "answers": answers}]})
    xtreme.write_json(paths[0], preds)
    xtreme.write_json(paths[1], {"version": "1.1", "data": [{"title": f"{target.name}-{lang}",
                                                            "paragraphs": paragraphs}]})


def evaluate(ctx: TrialContext, target: TaskSpec, lang: str, paths: tuple[Path, Path]) -> None:
    if target.type == "token_classification":
        evaluate_tags(ctx, target, lang, paths)
    else:
        evaluate_qa(ctx, target, lang, paths)
