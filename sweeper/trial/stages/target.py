"""Step 3: fine-tune on the target task's ENGLISH training data."""

from __future__ import annotations

from sweeper.catalog import TaskSpec
from sweeper.trial.stages import TrialContext
from sweeper.model.train import TrainTask, train


def target_epochs(target: TaskSpec, data: str) -> float:
    """Catalog epochs (jiant's per-target settings); the synthetic sample, much smaller
    than the real training sets, may ask for more passes (`sample.epochs`)."""
    if data == "sample" and "epochs" in target.sample:
        return float(target.sample["epochs"])
    return float(target.epochs or 2.0)


def run(ctx: TrialContext, target: TaskSpec) -> list[dict]:
    """Add a fresh head for `target` and train it with the encoder; returns the curve."""
    source, lang = ctx.catalog.train_task(target)
    ctx.model.add_head(target.name, target.type, ctx.num_labels(target))
    data = ctx.features(source, lang, "train")
    epochs = ctx.config.target_epochs or target_epochs(target, ctx.config.data)
    args = ctx.train_args(epochs, seed_offset=100 + ctx.config.targets.index(target.name))
    return train(ctx.model, [TrainTask(target.name, target.type, data)], args,
                 ctx.tokenizer.pad_token_id, ctx.device, desc=f"target {target.name}",
                 on_log=lambda s, v: ctx.on_log(target.name, s, v))
