"""Step 1: multi-task intermediate training (one head per task, shared encoder)."""

from __future__ import annotations

from sweeper.model.train import TrainTask
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.fit import fit


def run(ctx: TrialContext) -> list[dict]:
    """Train the encoder on every intermediate task at once; returns the loss curve."""
    tasks = []
    for name in ctx.settings.tasks:
        spec = ctx.catalog.task(name)
        ctx.model.add_head(name, spec.type, ctx.num_labels(spec))
        tasks.append(TrainTask(name, spec.type, ctx.features(spec, spec.languages[0], "train")))
    return fit(ctx, tasks, epochs=ctx.settings.intermediate.epochs, stage="intermediate")
