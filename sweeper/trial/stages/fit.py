"""From trial settings to the training loop: the optimiser settings of one phase."""

from __future__ import annotations

from sweeper.digest import stage_seed
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.stages.context import TrialContext


def train_args(ctx: TrialContext, *, epochs: float, stage: str, steps: int | None = None
               ) -> TrainArgs:
    """The loop's settings for one phase; its batch order and task draws are seeded from
    the trial seed and the stage alone."""
    s = ctx.settings
    return TrainArgs(epochs=epochs, max_steps=steps, batch_size=s.training.batch_size,
                     lr=s.effective_lr(),
                     weight_decay=s.training.weight_decay, warmup_ratio=s.training.warmup_ratio,
                     grad_accum=s.training.grad_accum, sampling=s.intermediate.sampling,
                     temperature=s.intermediate.temperature,
                     seed=stage_seed(s.seed, "batches", stage), precision=ctx.precision)


def fit(ctx: TrialContext, tasks: list[TrainTask], *, epochs: float, stage: str,
        steps: int | None = None) -> list[dict]:
    """Train the model on `tasks` for `epochs` (or `steps` in all); returns the curve."""
    return train(ctx.model, tasks, train_args(ctx, epochs=epochs, stage=stage, steps=steps),
                 pad_id=ctx.tokenizer.pad_token_id, device=ctx.device,
                 desc=stage if stage == "intermediate" else f"target {stage}",
                 on_log=lambda step, values: ctx.on_log(stage, step, values))
