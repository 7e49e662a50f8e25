"""Baselines are built once per key and logged once per sweep, by the same recipe as a
trial's run (on the in-memory store: the logic, not the database)."""

from __future__ import annotations

from sweeper import tracking
from sweeper.cache import StageCache
from sweeper.runner.baselines import ensure_baseline
from sweeper.tracking.memory import MemoryStore
from sweeper.trial.environment import resolve_here
from sweeper.trial.keys import trial_keys
from sweeper.trial.params import run_params
from sweeper.trial.settings import TrialSettings


def test_one_baseline_per_key_built_once_and_logged_once(catalog, tmp_path):
    settings = TrialSettings.build(targets=["tatoeba"], intermediate=["sst2"], model="tiny",
                                   eval_languages=["de", "sw"], max_eval_examples=30)
    resolved, env = resolve_here(settings, catalog)
    key = trial_keys(resolved, catalog).baseline
    store = MemoryStore()
    tracker = tracking.Tracker(store, "sweep")
    parent = tracker.start("sweep", "s:sweep", {tracking.ROLE_TAG: "sweep"})
    cache = StageCache(tmp_path / "cache")

    def ensure(r):
        return ensure_baseline(r, key=trial_keys(r, catalog).baseline, catalog=catalog,
                               cache=cache, tracker=tracker, sweep_id="s", sweep="sweep",
                               parent_run_id=parent, env=env)

    first = ensure(resolved)
    assert first.built_here and cache.has(f"baseline-{key}")
    other = resolve_here(settings.replace(intermediate=["qqp"]), catalog)[0]
    again = ensure(other)  # another trial of the same key: served, logged once
    assert not again.built_here and again.run_id == first.run_id
    assert again.result == first.result
    run = tracker.run(first.run_id)
    assert run.status == "FINISHED" and run.tags[tracking.ROLE_TAG] == "baseline"
    assert run.tags[tracking.BASELINE_KEY_TAG] == key and run.tags[tracking.PARENT_TAG] == parent
    assert run.params == {k: str(v) for k, v in run_params(resolved.baseline(), catalog).items()}
    assert run.params["tasks"] == "(none)" and "test.tatoeba.sw.accuracy" in run.metrics
    assert {"metrics.json", "xtreme", "languages.md"} <= set(store.artifacts(first.run_id))
    store.set_status(first.run_id, "RUNNING")  # a logger that died half-way
    relogged = ensure(resolved)
    assert not relogged.built_here and tracker.run(relogged.run_id).status == "FINISHED"
