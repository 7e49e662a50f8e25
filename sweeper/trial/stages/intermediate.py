"""Step 1: multi-task intermediate training (one head per task, shared encoder)."""

from __future__ import annotations

from sweeper.model.train import TrainTask
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.fit import fit


def run(ctx: TrialContext) -> list[dict]:
    """Train the encoder on every intermediate task at once; returns the loss curve."""
    phase = ctx.settings.intermediate
    tasks = []
    for name in ctx.settings.tasks:
        spec = ctx.catalog.task(name)
        ctx.add_head(name, spec)
        data = ctx.features(spec, spec.languages[0], "train")
        if phase.examples_cap:
            data = data.select(range(min(phase.examples_cap, len(data))))
        tasks.append(TrainTask(name, spec.kind, data))
    return fit(ctx, tasks, epochs=phase.epochs, steps=phase.steps, stage="intermediate")
