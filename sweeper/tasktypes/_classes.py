"""What the three class-predicting types share (classification, pair_classification,
multiple_choice): one label per example, predicted as the argmax of the head's scores,
exported one label per line and scored by accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from sweeper.scoring import metrics
from sweeper.tasktypes.base import (
    EvalContext,
    Job,
    TaskEntry,
    TaskType,
    read_lines,
    same_length,
    write_lines,
)


class ClassType(TaskType):
    """A type whose examples each have one gold class index in `label`."""

    metrics = ("accuracy",)
    family = "sentence"  # one label per example
    eval_batch: ClassVar[int] = 64

    def predict(self, ctx: EvalContext, task: TaskEntry, ds) -> list[int]:
        """Argmax class (or choice) per example, in the dataset's order."""
        import torch

        order: list[int] = []
        preds: list[torch.Tensor] = []
        for idx, scores in ctx.head_outputs(self, task, ds, self.eval_batch):
            preds.append(scores.argmax(-1))
            order.extend(idx)
        flat = torch.cat(preds).tolist() if preds else []  # one device->host copy per split
        out = [0] * len(order)
        for i, p in zip(order, flat):
            out[i] = p
        return out

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        """Predict one language of one split; write predictions and gold labels."""
        ds = ctx.features(job.data, job.lang, job.split)
        ds = ds.select(range(ctx.example_cap(len(ds))))
        preds = self.predict(ctx, job.target, ds)
        pred_path, gold_path = ctx.export_paths(job)
        labels = job.target.labels
        write_lines(pred_path, (labels[p] for p in preds))
        write_lines(gold_path, (labels[g] for g in ds["label"]))
        return {}

    def score(self, task: TaskEntry, lang: str, predictions: Path, labels: Path
              ) -> dict[str, float]:
        preds, gold = read_lines(predictions), read_lines(labels)
        same_length(predictions, labels, preds, gold)
        return metrics.accuracy(gold, preds)
