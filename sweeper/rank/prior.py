"""A sweep's prior from `sweeper rank`: computed once on the driver before any trial,
logged with the sweep (its folder and the parent run's `ranking/` artifacts) and used by
the searcher as sweeper.rank.order says. A sweep with several targets ranks for each
and averages the combined scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sweeper.catalog import Catalog
from sweeper.rank.ranking import rank


def sweep_ranking(spec: Any, catalog: Catalog, cache: Path) -> dict[str, Any]:
    """{targets: {target: ranking}, scores: {task: mean combined score}, method} for the
    tasks of the spec's pools, for its objective languages."""
    pool = sorted({t for tasks in spec.pool.values() for t in tasks})
    wanted = catalog.expand_languages([spec.objective_languages])
    rankings, scores = {}, {}
    for target in spec.targets:
        own = [c for c in wanted if c in catalog.task(target).languages and c != "en"]
        ranking = rank(target, catalog, languages=own or None, pool=pool, model=spec.model,
                       data=spec.data, cache=cache)
        rankings[target] = ranking.to_json()
        for row in ranking.rows:
            scores.setdefault(row["task"], []).append(row["score"])
    mean = {t: float(np.mean(v)) for t, v in scores.items()}
    return {"targets": rankings, "scores": dict(sorted(mean.items(), key=lambda kv: -kv[1])),
            "method": next(iter(rankings.values()))["method"] if rankings else ""}
