"""A training phase's plan: how often each task is drawn and how many optimizer steps
the phase takes within its pass limit. Pure arithmetic, read by the loop
(sweeper.model.train) and by the cost estimate (bench/sweep_cost.py)."""

from __future__ import annotations

import math
from typing import Protocol


class Phase(Protocol):
    """What a plan reads of a phase's loop settings (sweeper.model.train.TrainArgs)."""

    epochs: float | None
    max_steps: int | None
    batch_size: int
    max_passes: float | None


def task_weights(sizes: list[int], sampling: str, temperature: float) -> list[float]:
    """Probability of drawing each task's next batch."""
    if sampling == "uniform":
        raw = [1.0] * len(sizes)
    elif sampling == "temperature":
        raw = [n ** (1.0 / temperature) for n in sizes]
    elif sampling == "proportional":
        raw = [float(n) for n in sizes]
    else:
        raise ValueError(f"unknown task sampling '{sampling}'")
    total = sum(raw)
    return [x / total for x in raw]


def optimizer_steps(sizes: list[int], weights: list[float], args: Phase) -> tuple[int, int]:
    """(planned, allowed) optimizer steps: `max_steps`, else `epochs` passes over the
    summed sizes; allowed: as many as the pass limit lets the first task reach it."""
    if args.max_steps:
        planned = args.max_steps
    else:
        planned = max(1, math.ceil((args.epochs or 0) * sum(sizes) / args.batch_size))
    if not args.max_passes:
        return planned, planned
    limit = min(args.max_passes * n / (w * args.batch_size) for n, w in zip(sizes, weights)
                if w > 0)
    return planned, max(1, min(planned, int(limit)))
