"""Token classification (tagging: UD-POS, NER): one tag per word.

Features: every word is split into sub-tokens; its tag sits on the FIRST sub-token and
the others are ignored by the loss (-100). A sentence longer than the model's window is
cut at word boundaries into consecutive windows (never truncated); `word_pos` gives the
position of each word's first sub-token, so predictions map back to one tag per word.
Export: one tag per line, a blank line after each sentence; scored by seqeval's F1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeper.errors import DataError
from sweeper.scoring import metrics
from sweeper.tasktypes.base import (
    IGNORE,
    EvalContext,
    Job,
    TaskEntry,
    TaskType,
    column,
    write_text,
)

Window = tuple[int, list[int], list[int], list[int]]  # first word, ids, labels, word_pos


def word_pieces(words: list[str], tok: Any) -> list[list[int]]:
    """Sub-token ids of each word (an empty result becomes <unk>, so no word is lost)."""
    if not words:
        return []
    ids = tok(words, add_special_tokens=False)["input_ids"]
    return [x if x else [tok.unk_token_id] for x in ids]


def tag_windows(pieces: list[list[int]], tags: list[int], max_length: int) -> list[Window]:
    """Split one sentence into windows of whole words (a single over-long word keeps its
    first pieces), leaving room for <s> and </s>, which the caller adds."""
    room = max_length - 2
    windows, start = [], 0
    while start < len(pieces) or (start == 0 and not pieces):
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        end = start
        while end < len(pieces):
            piece = pieces[end][:room]
            if ids and len(ids) + len(piece) > room:
                break
            pos.append(len(ids) + 1)  # +1 for <s>
            labels += [tags[end]] + [IGNORE] * (len(piece) - 1)
            ids += piece
            end += 1
        windows.append((start, ids, labels, pos))
        if end == start:  # empty sentence
            break
        start = end
    return windows


def stitch_tags(ds: Any, word_tags: Any, n_sentences: int, lengths: list[int]
                ) -> list[list[int]]:
    """One predicted tag id per word of every sentence. `word_tags` holds, window after
    window in `ds`'s order, the tag of each word the window covers; each window's words
    are placed at its sentence's offset, in one array operation."""
    import numpy as np

    counts = np.array([len(p) for p in ds["word_pos"]], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths[:n_sentences])])
    window = np.repeat(np.arange(len(counts)), counts)  # the window of each covered word
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    where = starts[np.asarray(ds["example"], dtype=np.int64)[window]] + \
        np.asarray(ds["word_offset"], dtype=np.int64)[window] + within
    flat = np.zeros(starts[-1], dtype=np.int64)
    flat[where] = np.asarray(word_tags, dtype=np.int64)
    return [flat[a:b].tolist() for a, b in zip(starts[:-1], starts[1:])]


def read_tags(path: Path) -> list[list[str]]:
    """Sentences of tags separated by blank lines (a last one without its blank line too)."""
    out, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                current.append(line)
            else:
                out.append(current)
                current = []
    if current:
        out.append(current)
    return out


def write_tags(path: Path, sentences: Any) -> None:
    """One tag per line, a blank line after each sentence."""
    write_text(path, "".join("".join(f"{t}\n" for t in s) + "\n" for s in sentences))


class TokenClassification(TaskType):
    name = "token_classification"
    columns = ("tokens", "tags")
    metrics = ("f1", "accuracy")  # seqeval's entity F1 (XTREME's); per-word accuracy
    family = "token"
    train_columns = ("input_ids", "labels")
    loss_items = "tokens"
    eval_batch = 32

    def normalize(self, task: TaskEntry, batch: dict[str, list], tag_names: list[str]
                  ) -> dict[str, list]:
        tags = column(batch, task.columns["tags"], task)
        if task.label_encoding == "name":
            tags = [[tag_names.index(str(t)) if str(t) in tag_names else IGNORE for t in sent]
                    for sent in tags]
        return {"tokens": column(batch, task.columns["tokens"], task), "tags": tags}

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        out: dict[str, list] = {"input_ids": [], "labels": [], "example": [],
                                "word_offset": [], "word_pos": []}
        base = batch.get("_index") or range(len(batch["tokens"]))
        for i, words, tags in zip(base, batch["tokens"], batch["tags"]):
            for first, ids, labels, pos in tag_windows(word_pieces(words, tokenizer), tags,
                                                       max_length):
                out["input_ids"].append([tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id])
                out["labels"].append([IGNORE] + labels + [IGNORE])
                out["example"].append(i)
                out["word_offset"].append(first)
                out["word_pos"].append(pos)
        return out

    def head(self, encoder: Any, num_outputs: int):
        from sweeper.model.heads import TokenHead

        return TokenHead(encoder.config.hidden_size, num_outputs)

    def loss(self, outputs, batch):
        import torch

        return torch.nn.functional.cross_entropy(outputs.flatten(0, 1).float(),
                                                 batch["labels"].flatten(), ignore_index=IGNORE,
                                                 reduction="sum")

    def word_tags(self, ctx: EvalContext, task: TaskEntry, ds: Any) -> Any:
        """The predicted tag of each word of each window (window after window in `ds`'s
        order), gathered at the words' first sub-tokens on the device, one gather per
        batch, and copied to the host once."""
        import numpy as np
        import torch

        pos = ds["word_pos"][:]  # a list: indexing a Dataset column row by row is slow
        picked, order = [], []
        for idx, scores in ctx.head_outputs(self, task, ds, self.eval_batch):
            counts = [len(pos[i]) for i in idx]
            rows = torch.from_numpy(np.repeat(np.arange(len(idx)), counts))
            cols = torch.from_numpy(np.concatenate([pos[i] for i in idx] or [[]]).astype(
                np.int64))
            picked.append(scores.argmax(-1)[rows.to(scores.device), cols.to(scores.device)])
            order += idx
        if not picked:
            return np.zeros(0, dtype=np.int64)
        values = torch.cat(picked).cpu().numpy()
        counts = np.array([len(pos[i]) for i in order], dtype=np.int64)
        window = np.repeat(np.asarray(order, dtype=np.int64), counts)
        return values[np.argsort(window, kind="stable")]  # into ds's window order

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        """Tag the first examples of a split (all windows of each); write both files."""
        import numpy as np

        examples = ctx.examples(job.data, job.lang, job.split)
        n = ctx.example_cap(len(examples))
        ds = ctx.features(job.data, job.lang, job.split)
        example = np.asarray(ds["example"])
        if len(ds) and example.max() >= n:
            ds = ds.select(np.flatnonzero(example < n))
        names = ctx.label_names(job.target)
        gold = examples.select(range(n))["tags"]
        preds = stitch_tags(ds, self.word_tags(ctx, job.target, ds), n,
                            [len(g) for g in gold])
        pred_path, gold_path = ctx.export_paths(job)
        write_tags(pred_path, ([names[t] for t in sent] for sent in preds))
        write_tags(gold_path, ([names[t] if t >= 0 else "O" for t in sent] for sent in gold))
        return {}

    def score(self, task: TaskEntry, lang: str, predictions: Path, labels: Path
              ) -> dict[str, float]:
        preds, gold = read_tags(predictions), read_tags(labels)
        if len(preds) != len(gold):
            raise DataError(f"{predictions} has {len(preds)} examples but {labels} has "
                            f"{len(gold)}")
        if not gold:
            raise DataError(f"{labels} is empty")
        bad = [i for i, (p, g) in enumerate(zip(preds, gold)) if len(p) != len(g)]
        if bad:
            raise DataError(f"{predictions}: sentence {bad[0] + 1} has {len(preds[bad[0]])} "
                            f"tags, labels have {len(gold[bad[0]])}")
        if task.metric == "accuracy":
            return metrics.accuracy([t for s in gold for t in s], [t for s in preds for t in s])
        return metrics.seqeval_f1(gold, preds)


TYPE = TokenClassification()
