"""Step 3: fine-tune on the target task's ENGLISH training data."""

from __future__ import annotations

from sweeper.catalog import TaskSpec
from sweeper.stages import TrialContext
from sweeper.train import TrainTask, train


def run(ctx: TrialContext, target: TaskSpec) -> list[dict]:
    """Add a fresh head for `target` and train it with the encoder; returns the curve."""
    source, lang = ctx.catalog.train_task(target)
    ctx.model.add_head(target.name, target.type, target.num_labels)
    data = ctx.features(source, lang, "train")
    epochs = ctx.config.target_epochs or target.epochs or 2.0
    args = ctx.train_args(epochs, seed_offset=100 + ctx.config.targets.index(target.name))
    return train(ctx.model, [TrainTask(target.name, target.type, data)], args,
                 ctx.tokenizer.pad_token_id, ctx.device, desc=f"target {target.name}",
                 on_log=lambda s, v: ctx.on_log(target.name, s, v))
