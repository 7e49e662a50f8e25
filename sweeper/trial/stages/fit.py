"""From trial settings to the training loop: the optimiser settings of one phase."""

from __future__ import annotations

from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.stages.context import TrialContext


def train_args(ctx: TrialContext, *, epochs: float, seed_offset: int) -> TrainArgs:
    s = ctx.settings
    return TrainArgs(epochs=epochs, batch_size=s.training.batch_size, lr=s.effective_lr(),
                     weight_decay=s.training.weight_decay, warmup_ratio=s.training.warmup_ratio,
                     grad_accum=s.training.grad_accum, sampling=s.intermediate.sampling,
                     temperature=s.intermediate.temperature,
                     seed=s.seed * 7919 + seed_offset, precision=ctx.precision)


def fit(ctx: TrialContext, tasks: list[TrainTask], *, epochs: float, seed_offset: int,
        stage: str) -> list[dict]:
    """Train the model on `tasks` for `epochs`; returns the loss curve."""
    return train(ctx.model, tasks, train_args(ctx, epochs=epochs, seed_offset=seed_offset),
                 pad_id=ctx.tokenizer.pad_token_id, device=ctx.device,
                 desc=stage if stage == "intermediate" else f"target {stage}",
                 on_log=lambda step, values: ctx.on_log(stage, step, values))
