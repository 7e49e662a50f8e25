"""From trial settings to the training loop: the optimiser settings of one phase."""

from __future__ import annotations

from sweeper.digest import stage_seed
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.stages.context import TrialContext


def train_args(ctx: TrialContext, *, epochs: float | None, stage: str, steps: int | None = None
               ) -> TrainArgs:
    """The loop's settings for one phase; its batch order and task draws are seeded from
    the trial seed and the stage alone."""
    s, opt = ctx.settings, ctx.settings.training
    return TrainArgs(epochs=epochs, max_steps=steps, batch_size=opt.batch_size, lr=opt.lr,
                     weight_decay=opt.weight_decay, warmup_ratio=opt.warmup_ratio,
                     grad_accum=opt.grad_accum,
                     sampling=s.intermediate.sampling or "proportional",
                     temperature=s.intermediate.temperature or 1.0,
                     seed=stage_seed(s.seed, "batches", stage), precision=opt.precision)


def fit(ctx: TrialContext, tasks: list[TrainTask], *, epochs: float | None, stage: str,
        steps: int | None = None) -> list[dict]:
    """Train the model on `tasks` for `epochs` (or `steps` in all); returns the curve."""
    return train(ctx.model, tasks, train_args(ctx, epochs=epochs, stage=stage, steps=steps),
                 pad_id=ctx.tokenizer.pad_token_id, device=ctx.device,
                 desc=stage if stage == "intermediate" else f"target {stage}",
                 on_log=lambda step, values: ctx.on_log(stage, step, values))
