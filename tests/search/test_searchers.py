"""The sweep's searchers: a grid in order, Optuna's space, each trial's settings resolved
on the driver; their state survives a save and restore (what `sweeper resume` does)."""

from __future__ import annotations

import json
import pickle

from ray.tune.search import Searcher

from sweeper.frozen import freeze
from sweeper.search import searchers
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


def _searcher(spec, resolver):
    """The sweep's searcher inside its concurrency limit (tested on its own below)."""
    limited, n = searchers.build(spec, resolver)
    assert isinstance(limited, searchers.Limiter)
    assert limited.max_concurrent == spec.max_concurrent
    return limited.searcher, n


def test_a_grid_runs_every_point_once_in_order_each_resolved(catalog, tmp_path):
    spec = _spec(catalog)
    search, n = _searcher(spec, Resolver(spec, _facts(catalog), threads=3))
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
    again, _ = _searcher(spec, Resolver(spec, _facts(catalog)))
    half, _ = _searcher(spec, Resolver(spec, _facts(catalog)))
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
        saved, _ = _searcher(spec, Resolver(spec, _facts(catalog)))
        configs = [saved.suggest(f"t{i}") for i in range(max(given, trials))]
        folder = tmp_path / f"{given}-{trials}"
        folder.mkdir()
        half, _ = _searcher(spec, Resolver(spec, _facts(catalog)))
        for i in range(given):
            half.suggest(f"t{i}")
        half.save(str(folder / "searcher-state-x.pkl"))
        _experiment_state(folder, configs[:trials])
        again, _ = _searcher(spec, Resolver(spec, _facts(catalog)))
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


def _optuna(catalog):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0, 1],
                       "intermediate": {"pool": ["mnli", "qqp", "sst2"], "counts": [1, 2]},
                       "hyperparameters": {"lr": {"loguniform": [1e-4, 1e-2]}},
                       "search": {"algorithm": "optuna", "num_samples": 8,
                                  "max_concurrent": 2}}, catalog, "t")
    search, n = searchers.build(spec, Resolver(spec, _facts(catalog)))
    search.set_search_properties("objective", "max", {})
    return search, n


def _value(config) -> float:
    return float(config["count"]) + config["lr"]


def _drive(search, n: int, events: list, live: list, prefix: str) -> None:
    """Tune's loop for `n` trials at most: ask while it gives (the limiter says when two
    run), then the oldest running trial finishes."""
    given = sum(1 for e in events if e[0] == "suggest")
    while given < n or live:
        config = search.suggest(f"{prefix}{given}") if given < n else None
        if isinstance(config, dict):
            config = {k: v for k, v in config.items() if k != searchers.RESOLVED}
            events.append(("suggest", f"{prefix}{given}", config))
            live.append((f"{prefix}{given}", config))
            given += 1
            continue
        assert live, "the searcher waits for a trial nobody runs"
        trial_id, done = live.pop(0)
        search.on_trial_complete(trial_id, {"objective": _value(done)})
        events.append(("complete", trial_id, done))


def test_a_restored_optuna_search_follows_the_restored_trials_whatever_its_state_says(
        catalog, tmp_path):
    """The searcher's state a step ahead of Tune's trials held concurrency slots for
    trials Tune never heard of (with both slots so held, the sweep waited forever) and
    lost their seeds; a step behind, it gave seeds the trials held again and never
    counted trials that finished meanwhile. Reconciled with the restored trials, every
    seed of every configuration runs exactly once and nothing waits in vain."""
    events: list = []
    search, n = _optuna(catalog)
    _drive(search, n, events, [], "t")
    for at, searcher_at in ((5, 3), (3, 5), (6, 2), (2, 6)):
        folder = tmp_path / f"{at}-{searcher_at}"
        folder.mkdir()
        saved, _ = _optuna(catalog)
        replay = events[:searcher_at]
        for kind, trial_id, config in replay:
            if kind == "suggest":
                got = saved.suggest(trial_id)
                assert {k: v for k, v in got.items() if k != searchers.RESOLVED} == config
            else:
                saved.on_trial_complete(trial_id, {"objective": _value(config)})
        saved.save(str(folder / "searcher-state.pkl"))
        done = {e[1] for e in events[:at] if e[0] == "complete"}
        held = [(tid, c) for k, tid, c in events[:at] if k == "suggest"]
        trials = [[json.dumps({"trial_id": tid, "status": "TERMINATED" if tid in done
                               else "RUNNING", "config": c}),
                   json.dumps({"last_result": {"objective": _value(c)} if tid in done
                               else {}})] for tid, c in held]
        (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(
            json.dumps({"trial_data": trials}))
        again, _ = _optuna(catalog)
        again.restore(str(folder / "searcher-state.pkl"))
        after = [("suggest", tid, c) for tid, c in held]
        _drive(again, n, after, [(tid, c) for tid, c in held if tid not in done], "r")
        configs = [json.dumps(c, sort_keys=True) for k, _, c in after if k == "suggest"]
        assert len(configs) == len(set(configs)) == n, f"cut {at}/{searcher_at}"
        seeds: dict[str, set] = {}
        for kind, _, c in after:
            if kind == "suggest":
                seeds.setdefault(json.dumps({**c, "seed": None}, sort_keys=True),
                                 set()).add(c["seed"])
        assert all(s == {0, 1} for s in list(seeds.values())[:-1]), seeds  # the last may
        # be cut by the trial budget


def test_the_concurrency_limit_holds_slots_for_exactly_the_restored_trials_tune_runs(
        catalog, tmp_path):
    """Tune saves the limiter's running trials apart from the experiment state. Restored
    from a save that held a trial Tune never heard of (t2) and one that finished unheard
    (t1), it kept both slots: with two at a time, the sweep waited forever (with more,
    it ran fewer trials at a time after every such resume). Now it holds a slot for
    exactly the restored trials Tune runs again."""
    from ray.tune.search import SearchGenerator

    spec = _spec(catalog, max_concurrent=2)
    points = grid(spec)
    strip = lambda c: {k: v for k, v in c.items() if k != searchers.RESOLVED}  # noqa: E731
    saved = SearchGenerator(searchers.build(spec, Resolver(spec, _facts(catalog)))[0])
    limiter = saved.searcher
    given = [limiter.suggest("t0"), limiter.suggest("t1")]
    assert limiter.suggest("t9") is None  # two at a time
    limiter.on_trial_complete("t0", {"objective": 1.0})
    given.append(limiter.suggest("t2"))
    saved.save_to_dir(str(tmp_path), "s")
    trials = [[json.dumps({"trial_id": f"t{i}", "status": "TERMINATED",
                           "config": strip(given[i])}), json.dumps({"last_result": {}})]
              for i in (0, 1)]  # t1 finished; t2 never reached the experiment state
    (tmp_path / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": trials}))
    again = SearchGenerator(searchers.build(spec, Resolver(spec, _facts(catalog)))[0])
    again.restore_from_dir(str(tmp_path))
    assert again.searcher.live_trials == {"t1", "t2"}  # as saved, before it agrees
    first, second = again.searcher.suggest("n0"), again.searcher.suggest("n1")
    assert strip(first) == points[2] and strip(second) == points[3]  # t2's point again
    assert again.searcher.suggest("n2") is None and again.searcher.live_trials == {"n0", "n1"}
