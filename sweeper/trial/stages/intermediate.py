"""Step 1: multi-task intermediate training (one head per task, shared encoder)."""

from __future__ import annotations

from sweeper.trial.stages import TrialContext
from sweeper.model.train import TrainTask, train


def run(ctx: TrialContext) -> list[dict]:
    """Train the encoder on every intermediate task at once; returns the loss curve."""
    tasks = []
    for name in ctx.config.intermediate:
        spec = ctx.catalog.task(name)
        ctx.model.add_head(name, spec.type, ctx.num_labels(spec))
        tasks.append(TrainTask(name, spec.type, ctx.features(spec, spec.languages[0], "train")))
    args = ctx.train_args(ctx.config.intermediate_epochs, seed_offset=1)
    return train(ctx.model, tasks, args, ctx.tokenizer.pad_token_id, ctx.device,
                 desc="intermediate", on_log=lambda s, v: ctx.on_log("intermediate", s, v))
