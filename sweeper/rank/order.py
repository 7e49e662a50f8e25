"""How a ranking's predicted scores order a search (pure: no data, no model).

- Optuna (`search.prior: rank`): one enqueued trial per (mix, count): the count's
  top-ranked tasks, with every task weight `w_<task>` set from its predicted score
  (min-max scaled to [0, 1]), so the search starts where the ranking points and TPE
  learns from there;
- a grid (`search.order: rank`): task sets in order of their tasks' mean predicted
  score, best first (within each seed, as before; nothing is added or left out);
- a fidelity ladder (`fidelity.rank`, with `search.prior: rank`): that same predicted
  score decides which sets reach the first trained rung (sweeper.search.ladder).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sweeper.space.params import task_list


def enqueued(spec: Any, scores: dict[str, float]) -> list[dict[str, Any]]:
    """Optuna's first trials: per mix and count, the top tasks by predicted score."""
    points = []
    for mix, counts in spec.counts.items():
        pool = spec.pool[mix]
        values = np.array([scores.get(t, min(scores.values(), default=0.0)) for t in pool])
        spread = float(values.max() - values.min()) if len(values) else 0.0
        weights = {t: float((v - values.min()) / spread) if spread else 0.5
                   for t, v in zip(pool, values)}
        for k in counts:
            if k:
                points.append({"mix": mix, f"count_{mix}": k,
                               **{f"w_{t}": weights[t] for t in pool}})
    return points


def predicted(point: dict[str, Any], scores: dict[str, float]) -> float:
    """A task set's predicted score: its tasks' mean (the empty set: +inf, the reference
    every design keeps first)."""
    tasks = task_list(point)
    return float(np.mean([scores.get(t, 0.0) for t in tasks])) if tasks else np.inf


def ordered(sets: list[dict[str, Any]], scores: dict[str, float]) -> list[dict[str, Any]]:
    """Task-set points best-predicted first (the empty set first: the reference)."""
    return sorted(sets, key=lambda p: -predicted(p, scores))
