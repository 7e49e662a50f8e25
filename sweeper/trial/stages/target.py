"""Step 3: fine-tune on a target's ENGLISH training data, once for every target that
shares the training (sweeper.trial.sharing): their head is the stage's."""

from __future__ import annotations

from sweeper.catalog import TaskSpec
from sweeper.model.train import TrainResult, TrainTask
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.fit import fit


def run(ctx: TrialContext, target: TaskSpec, stage: str) -> TrainResult:
    """Add a fresh head for the stage and train it with the encoder; what it did."""
    source, lang = ctx.catalog.train_task(target)
    ctx.add_head(stage, target)
    data = ctx.features(source, lang, "train")
    return fit(ctx, [TrainTask(stage, target.tasktype, data, source.name)],
               epochs=ctx.resolved.target_epochs[target.name], stage=stage.split("@")[0],
               batch_size=ctx.resolved.target_batch[target.name])
