"""What a fidelity ladder costs against the full grid (every set at full fidelity):
trials, trainings, training examples and compute per rung, so that `validate` and the
report can say what the screening saved. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from sweeper.space.fidelity import Ladder, audit_count, encoder_size, promote_count


@dataclass(frozen=True)
class Work:
    """What some trials cost: trials, trainings (intermediate and target fine-tunings),
    training examples seen, and compute (examples x the encoder's non-embedding size)."""

    trials: float = 0.0
    trainings: float = 0.0
    examples: float = 0.0
    compute: float = 0.0


@dataclass(frozen=True)
class RungCost:
    """One rung's planned trials (`at_most`: a within_interval rule bounds them only)."""

    name: str
    trials: int
    at_most: bool
    work: Work


def planned_trials(ladder: Ladder, n_sets: int) -> list[tuple[int, bool]]:
    """(trials, at_most) per rung: every set at the first rung; at each next one the
    promoted sets and the audited ones."""
    out, n, bound = [], n_sets, False
    for rung in ladder.rungs:
        out.append((n, bound))
        if rung.promote is not None:
            up = promote_count(rung.promote, n)
            bound = bound or rung.promote.within_interval
            n = up + audit_count(ladder.audit, n - up)
    return out


def ladder_cost(ladder: Ladder, n_sets: int, per_trial: Sequence[Work]
                ) -> tuple[list[RungCost], Work]:
    """Each rung's cost and the full grid's (every set at the last rung), from one
    trial's `per_trial` work at each rung (trials and compute are filled in here: compute
    is examples x encoder size, or examples alone where no rung changes the encoder)."""
    if len(per_trial) != len(ladder.rungs):
        raise ValueError("one per-trial work per rung")
    sizes = [encoder_size(r.model) or 1 for r in ladder.rungs]
    rungs = []
    for rung, size, work, (n, bound) in zip(ladder.rungs, sizes, per_trial,
                                            planned_trials(ladder, n_sets)):
        rungs.append(RungCost(rung.name, n, bound, Work(
            n, n * work.trainings, n * work.examples, n * work.examples * size)))
    last = per_trial[-1]
    full = Work(n_sets, n_sets * last.trainings, n_sets * last.examples,
                n_sets * last.examples * sizes[-1])
    return rungs, full


def cost_share(rungs: Sequence[RungCost], full: Work) -> float:
    """The ladder's compute as a share of the full grid's."""
    return sum(r.work.compute for r in rungs) / full.compute if full.compute else math.nan
