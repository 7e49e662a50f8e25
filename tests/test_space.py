"""Pure search-space functions: grid, Optuna define-by-run (FixedTrial), params <-> config."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from sweeper.sweep import space
from sweeper.sweep.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def quickstart(catalog):
    return load_spec(ROOT / "search_spaces" / "quickstart.yaml", catalog)


def test_grid_visits_each_task_set_once_per_setting(quickstart):
    points = space.grid(quickstart)
    sets = {p["tasks"] for p in points}
    assert "" in sets  # the baseline, once (not once per language mix)
    per_setting = len(space.task_sets(quickstart))
    assert len(points) == per_setting * len(quickstart.seeds) * 2  # target_epochs: 2 choices
    assert points[0]["tasks"] != points[1]["tasks"]  # sets vary fastest
    for p in points:
        tasks = [t for t in p["tasks"].split(",") if t]
        assert len(tasks) == p["count"]
        assert set(tasks) <= set(quickstart.pool.get(p["mix"], tasks))


def test_task_choice_is_seeded_and_in_pool_order():
    pool = ["a", "b", "c", "d", "e"]
    assert space.choose_tasks(pool, 3, 0, "x") == space.choose_tasks(pool, 3, 0, "x")
    picked = space.choose_tasks(pool, 3, 0, "x")
    assert picked == sorted(picked, key=pool.index)
    draws = {tuple(space.choose_tasks(pool, 2, d, "x")) for d in range(10)}
    assert len(draws) > 1


def test_define_by_run_with_fixed_trial(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0, 1],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2", "klue_nli"],
                                        "language_mix": ["english", "mixed"], "counts": [0, 2]},
                       "hyperparameters": {"lr": {"loguniform": [1e-4, 1e-2]}}}, catalog, "t")
    trial = optuna.trial.FixedTrial({"mix": "english", "count_english": 2, "english_pick0": 2,
                                     "english_pick1": 0, "seed": 1, "lr": 1e-3})
    out = space.define_by_run(spec)(trial)
    assert out == {"mix": "english", "count": 2, "tasks": "mnli,sst2"}
    settings = space.params_to_settings(spec, {**out, "seed": 1, "lr": 1e-3})
    assert settings.tasks == ["mnli", "sst2"] and settings.seed == 1
    assert settings.training.lr == 1e-3
    baseline = space.define_by_run(spec)(optuna.trial.FixedTrial(
        {"mix": "mixed", "count_mixed": 0, "seed": 0, "lr": 1e-3}))
    assert baseline == {"mix": "none", "count": 0, "tasks": ""}


def test_define_by_run_runs_in_a_real_study(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"pool": ["english"], "counts": [0, 1, 4]}}, catalog, "t")
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    seen = []
    for _ in range(12):
        trial = study.ask()
        params = space.define_by_run(spec)(trial)
        seen.append(params["count"])
        assert len(set(params["tasks"].split(","))) == params["count"] or params["count"] == 0
        study.tell(trial, float(params["count"]))
    assert set(seen) <= {0, 1, 4} and len(set(seen)) > 1


def test_define_by_run_space_pickles(quickstart):
    import pickle

    space_fn = pickle.loads(pickle.dumps(space.define_by_run(quickstart)))
    trial = optuna.trial.FixedTrial({"mix": "english", "count_english": 1, "english_pick0": 0,
                                     "seed": 0, "target_epochs": 2.0})
    assert space_fn(trial)["count"] == 1
