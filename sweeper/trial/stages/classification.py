"""Evaluator for classification, sentence-pair classification and multiple choice."""

from __future__ import annotations

import datasets
import torch

from sweeper.catalog import TaskSpec
from sweeper.scoring import xtreme
from sweeper.trial.jobs import EvalJob
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.inference import example_cap, export_paths, head_scores

EVAL_BATCH = 64


def predict_labels(ctx: TrialContext, task: TaskSpec, ds: datasets.Dataset) -> list[int]:
    """Argmax class (or choice) per example, in the dataset's order."""
    order: list[int] = []
    preds: list[torch.Tensor] = []
    for idx, logits in head_scores(ctx, task, ds, EVAL_BATCH):
        preds.append(logits.argmax(-1))
        order.extend(idx)
    flat = torch.cat(preds).tolist()  # one device->host copy per split
    out = [0] * len(order)
    for i, p in zip(order, flat):
        out[i] = p
    return out


def evaluate(ctx: TrialContext, job: EvalJob) -> dict:
    """Predict one language of one split and write predictions and gold labels."""
    ds = ctx.features(job.data, job.lang, job.split)
    ds = ds.select(range(example_cap(ctx, len(ds))))
    preds = predict_labels(ctx, job.target, ds)
    pred_path, gold_path = export_paths(ctx, job)
    labels = job.target.labels
    xtreme.write_lines(pred_path, (labels[p] for p in preds))
    xtreme.write_lines(gold_path, (labels[g] for g in ds["label"]))
    return {}
