"""The end-of-sweep summary from Ray Tune's results: trials by outcome, the best by the
(dev) objective, intermediate trainings run vs served from the stage cache, time used."""

from __future__ import annotations

from typing import Any

from sweeper.errors import one_line
from sweeper.space.params import without_resolved
from sweeper.space.spec import SweepSpec


def summarize(results: Any, spec: SweepSpec, wall: float, planned: int = 0
              ) -> dict[str, Any]:
    """Best trials (of a fidelity ladder: at the highest rung reached), intermediate
    trainings run vs served from cache, time used; trials the searcher never started (an
    interrupted sweep) count as unfinished."""
    rows, errors = [], []
    for r in results:
        params = without_resolved(r.config or {})
        metrics = r.metrics or {}
        if r.error is not None:
            errors.append({"tasks": params.get("tasks", ""),
                           "error": one_line(r.error, 300, last=True)})
        done = metrics.get("targets_done", 0) >= len(spec.targets)
        # ASHA stops trials early on purpose; without a scheduler, fewer targets than
        # asked means the trial never finished (an interrupted sweep)
        stopped = bool(spec.scheduler) and metrics.get("targets_done", 0) >= 1 and not done
        rows.append({"params": params, "objective": metrics.get("objective", float("nan")),
                     "node": metrics.get("node", ""), "done": done, "stopped": stopped,
                     "cached": metrics.get("intermediate_cached", -1),
                     "key": metrics.get("intermediate_key", ""),
                     "seconds": metrics.get("trial_seconds", 0.0), "error": r.error is not None})
    scored = [r for r in rows if not r["error"] and (r["done"] or r["stopped"])
              and r["objective"] == r["objective"]]
    levels = [r["params"]["level"] for r in scored if r["params"].get("level") is not None]
    if levels:  # a fidelity ladder: the best are the highest rung's, never mixed with cheaper
        scored = [r for r in scored if r["params"].get("level") == max(levels)]
    scored.sort(key=lambda r: r["objective"], reverse=spec.mode == "max")
    return {
        "trials": max(len(rows), planned),
        "finished": sum(r["done"] and not r["error"] for r in rows),
        "stopped_early": sum(r["stopped"] and not r["error"] for r in rows),
        "unfinished": sum(not (r["done"] or r["stopped"] or r["error"]) for r in rows)
        + max(0, planned - len(rows)),
        "errored": len(errors), "errors": errors,
        "best": [{"objective": r["objective"], **r["params"]} for r in scored[:5]],
        "objective_languages": spec.objective_languages,
        "objective_metric": spec.objective_metric, "selection": spec.selection,
        "intermediate_trained": sum(r["cached"] == 0 for r in rows),
        "intermediate_from_cache": sum(r["cached"] == 1 for r in rows),
        "intermediate_configs": len({r["key"] for r in rows if r["key"]}),
        "wall_seconds": wall, "trial_seconds": sum(r["seconds"] for r in rows),
        "nodes": sorted({r["node"] for r in rows if r["node"]}),
    }
