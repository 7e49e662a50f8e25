"""What a fidelity ladder costs against the full grid (every set at full fidelity):
trials, trainings, training examples and compute per rung, so that `validate` and the
report can say what the screening saved. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from sweeper.catalog import Catalog
from sweeper.space.fidelity import (
    Ladder,
    at_rung,
    audit_count,
    encoder_size,
    promote_count,
)
from sweeper.space.space import grid, params_to_settings
from sweeper.space.spec import SweepSpec
from sweeper.trial.settings import TrialSettings, target_epochs
from sweeper.trial.sharing import trainings


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


def _examples(catalog: Catalog, name: str, cap: int | None) -> int:
    n = catalog.task(name).train_size or cap or 0
    return min(n, cap) if cap else n


def trial_work(settings: TrialSettings, catalog: Catalog) -> Work:
    """One trial's trainings and training examples on paper, from the catalog's set sizes:
    the intermediate phase's steps x batch, or its epochs over the (capped) sets, within
    its pass limit; each distinct target fine-tuning's epochs over its English set.
    Coarser than bench/sweep_cost.py (no sampling details), enough to compare rungs."""
    phase, train = settings.intermediate, settings.training
    cap = phase.examples_cap or (phase.examples_total // len(phase.tasks)
                                 if phase.examples_total and phase.tasks else None)
    sizes = sum(_examples(catalog, t, cap or train.max_train_examples) for t in phase.tasks)
    seen = phase.steps * train.batch_size if phase.steps is not None else phase.epochs * sizes
    if phase.max_passes is not None:
        seen = min(seen, phase.max_passes * sizes)
    stages: dict[tuple[str, float], float] = {}
    for name in settings.targets:
        task = catalog.task(name)
        if task.needs_training:
            source = catalog.train_task(task)[0].name
            epochs = target_epochs(settings, task)
            stages[(source, epochs)] = epochs * _examples(catalog, source,
                                                          train.max_train_examples)
    return Work(trainings=(1 if phase.tasks else 0) + trainings(settings, catalog),
                examples=float(seen) + sum(stages.values()))


def describe_ladder(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """`sweeper validate --list`: each rung's trials, trainings, examples and compute next
    to the full grid's (every set at the last rung)."""
    ladder = spec.fidelity
    if ladder is None:
        return []
    points = grid(spec) if spec.algorithm == "grid" else []
    base = [params_to_settings(spec, p) for p in points] or [spec.base_settings()]
    per_trial = []
    for rung in ladder.rungs:
        works = [trial_work(at_rung(rung, s), catalog) for s in base]
        per_trial.append(Work(trainings=sum(w.trainings for w in works) / len(works),
                              examples=sum(w.examples for w in works) / len(works)))
    rungs, full = ladder_cost(ladder, len(points) or spec.num_samples, per_trial)
    lines = [f"fidelity ladder ({len(ladder.rungs)} rungs, audit {ladder.audit.share:g} of "
             f"the passed-over sets, at least {ladder.audit.min}):"]
    for rung, cost in zip(ladder.rungs, rungs):
        share = cost.work.compute / full.compute if full.compute else math.nan
        lines.append(f"  {rung.name}: {rung.model}, budget share {rung.budget_share:g}: "
                     f"{'at most ' if cost.at_most else ''}{cost.trials} trials, "
                     f"{cost.work.trainings:.0f} trainings, {cost.work.examples / 1e6:.3g}M "
                     f"examples, {share:.1%} of the full grid's compute")
    lines.append(f"  full grid ({ladder.full.name} for every set): {full.trials:.0f} trials, "
                 f"{full.trainings:.0f} trainings, {full.examples / 1e6:.3g}M examples")
    lines.append(f"  the ladder: {cost_share(rungs, full):.1%} of the full grid's compute "
                 "(examples x encoder size)")
    return lines
