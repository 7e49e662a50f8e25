"""Pure search-space functions: grid, Optuna define-by-run (FixedTrial), params <-> config."""

from __future__ import annotations

import optuna
import pytest
from conftest import ROOT

from sweeper.space import space
from sweeper.space.spec import load_spec, parse_spec

COUNTS = {  # a counts design: 0, 1 or 2 tasks, English vs non-English, two target epochs
    "name": "counts", "model": "tiny", "data": "sample", "targets": ["xnli", "tatoeba"],
    "intermediate": {"pool": ["mnli", "anli", "qqp", "sst2", "hellaswag", "non_english"],
                     "language_mix": ["english", "non_english"], "counts": [0, 1, 2]},
    "hyperparameters": {"target_epochs": {"choice": [2, 3]}},
    "search": {"algorithm": "grid"}}


@pytest.fixture()
def quickstart(catalog):
    return parse_spec(COUNTS, catalog, "counts")


def test_chains_prefix_random_orders(catalog):
    spec = load_spec(ROOT / "search_spaces" / "quickstart.yaml", catalog)
    points = space.grid(spec)
    assert len(points) == 5 * 3 and {p["count"] for p in points} == {1, 2, 3}
    for c, order in enumerate(spec.chains):
        mine = sorted((p for p in points if p["chain"] == c), key=lambda p: p["count"])
        assert [p["tasks"] for p in mine] == [",".join(order[:k]) for k in (1, 2, 3)]
        assert [p["added"] for p in mine] == order  # each position adds one task
    assert len({tuple(o) for o in spec.chains}) == 5  # seeded, distinct orders
    again = load_spec(ROOT / "search_spaces" / "quickstart.yaml", catalog)
    assert again.chains == spec.chains


def test_budget_arms_cross_the_design(catalog):
    spec = parse_spec({**COUNTS, "hyperparameters": {}, "intermediate": {
        **COUNTS["intermediate"], "budget": [
            {"name": "total", "examples_total": 600, "epochs": 2},
            {"name": "per_task", "examples_per_task": 300, "epochs": 2}]}}, catalog, "arms")
    points = space.grid(spec)
    with_tasks = [p for p in points if p["count"]]
    assert {p["budget"] for p in with_tasks} == {"total", "per_task"}
    assert len([p for p in points if not p["count"]]) == 1  # the baseline has no budget arm
    two = next(p for p in with_tasks if p["count"] == 2 and p["budget"] == "total")
    settings = space.params_to_settings(spec, two)
    assert settings.intermediate.examples_total == 600 and settings.intermediate.epochs == 2
    per = next(p for p in with_tasks if p["budget"] == "per_task")
    assert space.params_to_settings(spec, per).intermediate.examples_cap == 300


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


def _weights(spec, mix, first):
    """FixedTrial weights that rank `first` highest, the rest by pool order."""
    pool = spec.pool[mix]
    return {f"w_{t}": (1.0 if t in first else 0.5 - 0.01 * pool.index(t)) for t in pool}


def test_define_by_run_with_fixed_trial(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0, 1],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2", "klue_nli"],
                                        "language_mix": ["english", "mixed"], "counts": [0, 2]},
                       "hyperparameters": {"lr": {"loguniform": [1e-4, 1e-2]}}}, catalog, "t")
    trial = optuna.trial.FixedTrial({"mix": "english", "count_english": 2, "lr": 1e-3,
                                     **_weights(spec, "english", ["sst2", "mnli"])})
    out = space.define_by_run(spec)(trial)
    assert out == {"mix": "english", "count": 2, "tasks": "mnli,sst2"}
    settings = space.params_to_settings(spec, {**out, "seed": 1, "lr": 1e-3})
    assert settings.tasks == ["mnli", "sst2"] and settings.seed == 1
    assert settings.training.lr == 1e-3
    baseline = space.define_by_run(spec)(optuna.trial.FixedTrial(
        {"mix": "mixed", "count_mixed": 0, "lr": 1e-3, **_weights(spec, "mixed", [])}))
    assert baseline == {"mix": "none", "count": 0, "tasks": ""}


def test_a_task_weight_means_the_same_whatever_else_is_drawn(catalog):
    """The same weights pick the same task first at every count: a weight is a property
    of the task, not of its position among the tasks left."""
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2"], "counts": [1, 2]}},
                      catalog, "t")
    weights = {"w_mnli": 0.1, "w_qqp": 0.9, "w_sst2": 0.5}
    for k, expected in ((1, "qqp"), (2, "qqp,sst2")):
        trial = optuna.trial.FixedTrial({"mix": "mixed", "count_mixed": k, **weights})
        assert space.define_by_run(spec)(trial)["tasks"] == expected


def test_tpe_learns_which_task_helps(catalog):
    """An objective that rewards one task: TPE's later proposals hold it far more often
    than chance (1 in 4 at one task out of four)."""
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2", "anli"],
                                        "counts": [1]}}, catalog, "t")
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=8))
    held = []
    for _ in range(40):
        trial = study.ask()
        tasks = space.define_by_run(spec)(trial)["tasks"]
        held.append("sst2" in tasks)
        study.tell(trial, 1.0 if "sst2" in tasks else 0.0)
    assert sum(held[-20:]) >= 12


def test_fixed_sets_are_one_categorical(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"sets": [[], ["mnli"], ["mnli", "qqp"]]}}, catalog, "t")
    trial = optuna.trial.FixedTrial({"set": "mnli+qqp"})
    assert space.define_by_run(spec)(trial)["tasks"] == "mnli,qqp"
    study = optuna.create_study()
    trial = study.ask()
    space.define_by_run(spec)(trial)
    assert isinstance(trial.distributions["set"], optuna.distributions.CategoricalDistribution)
    assert "seed" not in trial.params  # seeds are repeats, not searched


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
    trial = optuna.trial.FixedTrial({"mix": "english", "count_english": 1,
                                     "target_epochs": 2.0,
                                     **_weights(quickstart, "english", [])})
    assert space_fn(trial)["count"] == 1
