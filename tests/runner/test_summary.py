"""The end-of-sweep summary from Tune's results (Result-like objects): trials by outcome,
the best by the dev objective, the stage cache's use, time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from sweeper.runner.summary import summarize
from sweeper.space.params import RESOLVED
from sweeper.space.spec import parse_spec


@dataclass
class _Result:
    """What the summary reads of a ray.tune.Result."""

    config: dict
    metrics: dict = field(default_factory=dict)
    error: BaseException | None = None


def _spec(catalog, **search):
    return parse_spec({"model": "tiny", "targets": ["xnli", "pawsx"],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2"], "counts": [1]},
                       "search": {"algorithm": "optuna", **search}}, catalog, "sum")


def _done(tasks: str, objective: float, *, targets: int = 2, cached: int = 0,
          key: str = "", node: str = "n1", seconds: float = 10.0) -> _Result:
    return _Result({"tasks": tasks, "seed": 0, RESOLVED: object()},
                   {"objective": objective, "targets_done": targets, "node": node,
                    "intermediate_cached": cached, "intermediate_key": key or tasks,
                    "trial_seconds": seconds})


def test_trials_are_counted_by_outcome_and_the_best_ranked_on_the_objective(catalog):
    results = [_done("mnli", 40.0), _done("qqp", 45.0, cached=1, key="mnli", node="n2"),
               _done("sst2", 50.0, targets=1),  # no scheduler: an unfinished trial
               _Result({"tasks": "sst2", "seed": 1},  # a remote error: its traceback, then it
                       error=RuntimeError('Traceback:\n  File "x"\nOutOfMemoryError:  CUDA')),
               _done("mnli", math.nan)]  # finished without a score: not ranked
    summary = summarize(results, _spec(catalog), wall=20.0, planned=7)
    assert summary["trials"] == 7 and summary["finished"] == 3 and summary["errored"] == 1
    assert summary["unfinished"] == 1 + 2 and summary["stopped_early"] == 0
    assert summary["errors"] == [{"tasks": "sst2", "error": "OutOfMemoryError: CUDA"}]
    assert [b["objective"] for b in summary["best"]] == [45.0, 40.0]
    assert summary["best"][0] == {"objective": 45.0, "tasks": "qqp", "seed": 0}  # no settings
    assert summary["intermediate_trained"] == 3 and summary["intermediate_from_cache"] == 1
    assert summary["intermediate_configs"] == 2  # mnli, sst2 (qqp was served mnli's key)
    assert summary["nodes"] == ["n1", "n2"] and summary["wall_seconds"] == 20.0
    assert summary["trial_seconds"] == pytest.approx(40.0)
    assert summary["selection"] == "english_dev" and summary["objective_metric"] == "score"


def test_a_scheduler_s_stopped_trials_count_at_their_point(catalog):
    spec = _spec(catalog, scheduler={"asha": {"grace_period": 1}})
    results = [_done("mnli", 40.0), _done("qqp", 60.0, targets=1),
               _done("sst2", 70.0, targets=0)]  # stopped before any target: unfinished
    summary = summarize(results, spec, wall=1.0)
    assert summary["stopped_early"] == 1 and summary["unfinished"] == 1
    assert [b["tasks"] for b in summary["best"]] == ["qqp", "mnli"]


def test_a_minimised_objective_ranks_the_lowest_first(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"], "objective": {"mode": "min"},
                       "intermediate": {"pool": ["mnli", "qqp"], "counts": [1]}}, catalog, "m")
    results = [_done(t, v, targets=1) for t, v in (("mnli", 3.0), ("qqp", 1.0))]
    assert [b["tasks"] for b in summarize(results, spec, wall=1.0)["best"]] == ["qqp", "mnli"]


def test_a_ladders_best_trials_are_its_highest_rungs_only(catalog):
    """The cheaper rung's objectives are another encoder's: never ranked beside the top."""
    spec = _spec(catalog)

    def at(tasks: str, rung: str, level: int, objective: float) -> _Result:
        return _Result({"tasks": tasks, "rung": rung, "level": level},
                       {"objective": objective, "targets_done": 2})

    summary = summarize([at("mnli", "screen", 0, 90.0), at("qqp", "full", 1, 40.0),
                         at("sst2", "full", 1, 50.0)], spec, 1.0)
    assert [(b["tasks"], b["rung"]) for b in summary["best"]] == [("sst2", "full"),
                                                                  ("qqp", "full")]
    assert summary["finished"] == 3

