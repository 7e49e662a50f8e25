"""From trial settings to the training loop: the optimiser settings of one phase."""

from __future__ import annotations

from sweeper.digest import stage_seed
from sweeper.model import buckets, memory
from sweeper.model.train import TrainArgs, TrainResult, TrainTask, train
from sweeper.trial.settings import cache_root
from sweeper.trial.stages.context import TrialContext


def micro_batch(ctx: TrialContext, tasks: list[TrainTask], batch_size: int) -> int | None:
    """The micro-batch of a phase (a runtime value: it changes no number): the setting, or
    what fits the device for the most demanding of its tasks (None: the whole batch)."""
    sizes = [memory.micro_batch(ctx.settings.runtime.micro_batch, model=ctx.model,
                                kind=t.kind, head=t.name, batch_size=batch_size,
                                length=ctx.settings.max_length[t.source], device=ctx.device,
                                precision=ctx.precision,
                                cache_root=cache_root(ctx.settings.runtime))
             for t in tasks]
    known = [s for s in sizes if s is not None]
    return min(known) if known else None


def train_args(ctx: TrialContext, tasks: list[TrainTask], *, epochs: float | None,
               stage: str, batch_size: int, steps: int | None = None,
               max_passes: float | None = None) -> TrainArgs:
    """The loop's settings for one phase; its batch order and task draws are seeded from
    the trial seed and the stage alone; its length buckets are a runtime value (unset:
    auto on a GPU, off on a CPU)."""
    s, opt = ctx.settings, ctx.settings.training
    return TrainArgs(epochs=epochs, max_steps=steps, batch_size=batch_size, opt=opt,
                     micro_batch=micro_batch(ctx, tasks, batch_size),
                     sampling=s.intermediate.sampling or "proportional",
                     temperature=s.intermediate.temperature or 1.0,
                     seed=stage_seed(s.seed, "batches", stage),
                     max_passes=max_passes,
                     length_buckets=buckets.resolve(s.runtime.length_buckets, ctx.device.type))


def fit(ctx: TrialContext, tasks: list[TrainTask], *, epochs: float | None, stage: str,
        batch_size: int, steps: int | None = None, max_passes: float | None = None
        ) -> TrainResult:
    """Train the model on `tasks` for `epochs` (or `steps` in all); what it did."""
    args = train_args(ctx, tasks, epochs=epochs, stage=stage, batch_size=batch_size,
                      steps=steps, max_passes=max_passes)
    return train(ctx.model, tasks, args, pad_id=ctx.tokenizer.pad_token_id, device=ctx.device,
                 desc=stage if stage == "intermediate" else f"target {stage}",
                 on_log=lambda step, values: ctx.on_log(stage, step, values))
