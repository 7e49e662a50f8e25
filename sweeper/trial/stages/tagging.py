"""Evaluator for token classification (tagging): one tag per word, windows stitched back.

The tag of each word is read at its first sub-token and windows are stitched back, so
the export has exactly one line per word and a blank line per sentence.
"""

from __future__ import annotations

import numpy as np

from sweeper.catalog import TaskSpec
from sweeper.data.features import label_names
from sweeper.scoring import xtreme
from sweeper.trial.jobs import EvalJob
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.inference import example_cap, export_paths, head_scores

EVAL_BATCH = 32


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


def evaluate(ctx: TrialContext, job: EvalJob) -> dict:
    """Tag the first examples of a split (all windows of each) and write both files."""
    examples = ctx.examples(job.data, job.lang, job.split)
    n = example_cap(ctx, len(examples))
    ds = ctx.features(job.data, job.lang, job.split)
    example = np.asarray(ds["example"])
    if len(ds) and example.max() >= n:
        ds = ds.select(np.flatnonzero(example < n))
    names = label_names(job.target, ctx.source)
    gold = examples.select(range(n))["tags"]
    preds = stitch_tags(ds, window_outputs(ctx, job.target, ds), n, [len(g) for g in gold])
    paths = export_paths(ctx, job)
    xtreme.write_tags(paths[0], ([names[t] for t in sent] for sent in preds))
    xtreme.write_tags(paths[1], ([names[t] if t >= 0 else "O" for t in sent] for sent in gold))
    return {}
