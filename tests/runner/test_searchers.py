"""The sweep's searchers: a grid in order, Optuna's space, each trial's settings resolved
on the driver; their state survives a save and restore (what `sweeper resume` does)."""

from __future__ import annotations

import json
import pickle

from ray.tune.search import Searcher

from sweeper.frozen import freeze
from sweeper.runner import searchers
from sweeper.space.space import Resolver, grid
from sweeper.space.spec import parse_spec
from sweeper.trial.keys import trial_keys
from sweeper.trial.resolved import Facts, ResolvedTrial


def _spec(catalog, **search):
    return parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0, 1],
                       "intermediate": {"pool": ["mnli", "qqp"], "counts": [0, 1]},
                       "hyperparameters": {"lr": {"choice": [1e-3, 2e-3]}},
                       "search": {"algorithm": "grid", **search}}, catalog, "t")


def _facts(catalog) -> Facts:
    return Facts(model_id="tiny:test", tokenizer="tok", num_layers=2, max_positions=512,
                 data_versions=freeze({t: "v1" for t in catalog.tasks}), device="cpu")


def test_a_grid_runs_every_point_once_in_order_each_resolved(catalog, tmp_path):
    spec = _spec(catalog)
    search, n = searchers.build(spec, Resolver(spec, _facts(catalog), threads=3))
    assert n == -1  # the grid says when it is done
    configs = [search.suggest(f"t{i}") for i in range(len(grid(spec)))]
    assert search.suggest("extra") == Searcher.FINISHED
    points = grid(spec)
    assert [{k: v for k, v in c.items() if k != searchers.RESOLVED} for c in configs] == points
    for config in configs:
        resolved = config[searchers.RESOLVED]
        assert isinstance(resolved, ResolvedTrial) and resolved.runtime.threads == 3
        assert list(resolved.tasks) == sorted(t for t in config["tasks"].split(",") if t)
        assert resolved.training.lr == config["lr"] and resolved.seed == config["seed"]
    # saved mid-way and restored, the grid goes on where it stopped
    again, _ = searchers.build(spec, Resolver(spec, _facts(catalog)))
    half, _ = searchers.build(spec, Resolver(spec, _facts(catalog)))
    for i in range(3):
        half.suggest(f"t{i}")
    half.save(str(tmp_path / "state.pkl"))
    again.restore(str(tmp_path / "state.pkl"))
    assert {k: v for k, v in again.suggest("next").items() if k != searchers.RESOLVED} == \
        points[3]


def _experiment_state(folder, configs):
    """An experiment state as Tune saves it: each trial's state as JSON, its resolved
    settings pickled inside (here a stand-in)."""
    trials = [[json.dumps({"trial_id": f"t{i}", "config": {
        **{k: v for k, v in c.items() if k != searchers.RESOLVED},
        searchers.RESOLVED: {"_type": "CLOUDPICKLE_FALLBACK", "value": "00"}}}), "{}"]
        for i, c in enumerate(configs)]
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": trials, "runner_data": {}, "stats": {}}))


def test_a_restored_grid_gives_each_point_to_one_trial_whatever_its_state_says(
        catalog, tmp_path):
    """A driver killed after the experiment state (4 trials) reached the storage and
    before the searcher's state (3 given) did: a resumed grid would give the 4th point
    again; the other way round, it would never give it. A restored grid now leaves out
    exactly the points the restored trials hold: behind or ahead."""
    spec = _spec(catalog)
    points = grid(spec)
    strip = lambda c: {k: v for k, v in c.items() if k != searchers.RESOLVED}  # noqa: E731
    for given, trials in ((3, 4), (4, 3)):  # the searcher behind, then ahead
        saved, _ = searchers.build(spec, Resolver(spec, _facts(catalog)))
        configs = [saved.suggest(f"t{i}") for i in range(max(given, trials))]
        folder = tmp_path / f"{given}-{trials}"
        folder.mkdir()
        half, _ = searchers.build(spec, Resolver(spec, _facts(catalog)))
        for i in range(given):
            half.suggest(f"t{i}")
        half.save(str(folder / "searcher-state-x.pkl"))
        _experiment_state(folder, configs[:trials])
        again, _ = searchers.build(spec, Resolver(spec, _facts(catalog)))
        again.restore(str(folder / "searcher-state-x.pkl"))
        rest = []
        while (config := again.suggest("next")) != Searcher.FINISHED:
            rest.append(strip(config))
        assert rest == points[trials:]


def test_optuna_configurations_arrive_resolved(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2"], "counts": [1, 2]},
                       "hyperparameters": {"lr": {"loguniform": [1e-4, 1e-2]}},
                       "search": {"algorithm": "optuna", "num_samples": 4}}, catalog, "t")
    search, n = searchers.build(spec, Resolver(spec, _facts(catalog)))
    search.set_search_properties("objective", "max", {})
    config = search.suggest("t0")
    resolved = config[searchers.RESOLVED]
    assert n == 4 and resolved.training.lr == config["lr"]
    assert len(resolved.tasks) == config["count"]
    assert pickle.loads(pickle.dumps(resolved)) == resolved
    assert trial_keys(resolved, catalog).intermediate
