"""Step 3: fine-tune on the target task's ENGLISH training data."""

from __future__ import annotations

from sweeper.catalog import TaskSpec
from sweeper.model.train import TrainTask
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.fit import fit


def run(ctx: TrialContext, target: TaskSpec) -> list[dict]:
    """Add a fresh head for `target` and train it with the encoder; returns the curve."""
    source, lang = ctx.catalog.train_task(target)
    ctx.add_head(target.name, target)
    data = ctx.features(source, lang, "train")
    return fit(ctx, [TrainTask(target.name, target.kind, data)],
               epochs=ctx.settings.target_epochs[target.name], stage=target.name)
