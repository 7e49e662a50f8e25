"""What every evaluator shares: the job, where its files go, batched head outputs, caps."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import datasets
import torch

from sweeper.catalog import TaskSpec
from sweeper.model.batching import indexed, to_device
from sweeper.model.device import autocast
from sweeper.scoring import xtreme
from sweeper.trial.jobs import EvalJob
from sweeper.trial.stages.context import TrialContext


def export_paths(ctx: TrialContext, job: EvalJob) -> tuple[Path, Path]:
    """(prediction file, label file) of a job in the XTREME layout."""
    name = xtreme.file_name(job.target, job.lang, job.kind)
    root = ctx.out_dir / "xtreme"
    return (root / "predictions" / job.target.name / name,
            root / "labels" / job.target.name / name)


def example_cap(ctx: TrialContext, n: int) -> int:
    """How many of a split's `n` examples are evaluated (max_eval_examples counts
    examples, never windows)."""
    cap = ctx.settings.evaluation.max_examples
    return min(n, cap) if cap else n


@torch.inference_mode()
def head_scores(ctx: TrialContext, task: TaskSpec, ds: datasets.Dataset, batch_size: int
                ) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(row indices, head outputs in float) per length-sorted evaluation batch."""
    for idx, batch in indexed(ds, batch_size=batch_size, pad_id=ctx.tokenizer.pad_token_id,
                              rng=None, columns=["input_ids"], pin=ctx.device.type == "cuda"):
        batch = to_device(batch, ctx.device)
        with autocast(ctx.device, ctx.precision):
            yield idx, ctx.model.scores(task.type, task.name, batch).float()
