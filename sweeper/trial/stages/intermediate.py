"""Step 1: multi-task intermediate training (one head per task, shared encoder)."""

from __future__ import annotations

from sweeper.model.train import TrainResult, TrainTask
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.fit import fit


def run(ctx: TrialContext) -> TrainResult:
    """Train the encoder on every intermediate task at once, within the pass limit;
    returns what it did (loss curve, examples drawn per task)."""
    phase = ctx.resolved.intermediate
    tasks = []
    for name in ctx.resolved.tasks:
        spec = ctx.catalog.task(name)
        ctx.add_head(name, spec)
        data = ctx.features(spec, spec.languages[0], "train")
        if phase.examples_cap:
            data = data.select(range(min(phase.examples_cap, len(data))))
        tasks.append(TrainTask(name, spec.tasktype, data, name))
    return fit(ctx, tasks, epochs=phase.epochs, steps=phase.steps, stage="intermediate",
               batch_size=ctx.resolved.training.batch_size, max_passes=phase.max_passes)
