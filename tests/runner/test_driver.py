"""The sweep's driver before Ray starts: where a sweep goes, a name used twice, the facts
trials resolve against (the same keys as a trial resolved here), planned trials."""

from __future__ import annotations

import pytest

from sweeper import tracking
from sweeper.errors import ConfigError
from sweeper.runner import driver, finish
from sweeper.space.space import Resolver, grid, params_to_settings
from sweeper.space.spec import parse_spec
from sweeper.trial.keys import trial_keys
from sweeper.trial.run import derive_keys

RAW = {"name": "twice", "model": "tiny", "data": "sample", "targets": ["tatoeba"],
       "eval_languages": ["de", "sw"], "intermediate": {"sets": [["sst2"], []]},
       "search": {"algorithm": "grid"}}


def _spec(catalog, **changes):
    return parse_spec({**RAW, **changes}, catalog, "twice")


def test_a_name_already_in_the_store_refuses_unless_new(catalog, tmp_path):
    spec = _spec(catalog)
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    store = tracking.open_store(uri)
    tracking.Tracker(store, "twice").start("twice", "old:sweep", {tracking.ROLE_TAG: "sweep"})
    where = driver._where(spec, name=None, storage=str(tmp_path / "b"), tracking_uri=uri,
                          address=None, cache=None, new=False, sweep_id="abcdef123456")
    with pytest.raises(ConfigError, match="already in the tracking store"):
        driver._preflight(spec, catalog, where, None, new=False)
    assert not (tmp_path / "b").exists()  # refused before anything was written
    again = driver._where(spec, name=None, storage=str(tmp_path / "b"), tracking_uri=uri,
                          address=None, cache=None, new=True, sweep_id="abcdef123456")
    assert again.folder == "twice-abcdef" and again.cache.endswith("twice-abcdef/stage_cache")
    driver._preflight(spec, catalog, again, None, new=True)


def test_remote_storage_needs_a_tracking_server_and_a_shared_cache(catalog, tmp_path):
    spec = _spec(catalog)
    with pytest.raises(ConfigError, match="give --tracking-uri"):
        driver._where(spec, name=None, storage="s3://bucket/runs", tracking_uri=None,
                      address=None, cache=None, new=False, sweep_id="x" * 12)
    with pytest.raises(ConfigError, match="give --cache"):
        driver._where(spec, name=None, storage="s3://bucket/runs",
                      tracking_uri="http://127.0.0.1:5000", address=None, cache=None,
                      new=False, sweep_id="x" * 12)


def test_trials_resolved_by_the_driver_have_the_keys_of_a_trial_resolved_here(catalog):
    spec = _spec(catalog)
    resolver = Resolver(spec, driver.facts_for(spec, catalog))
    for point in grid(spec):
        here = derive_keys(params_to_settings(spec, point), catalog)
        assert trial_keys(resolver(point), catalog) == here
    assert finish.planned_trials(spec) == 2


def test_gpu_trials_resolve_to_bf16_on_the_driver_and_to_the_cpu_when_told(catalog):
    spec = _spec(catalog, resources={"cpu": 1, "gpu": 1})
    point = grid(spec)[0]
    resolved = Resolver(spec, driver.facts_for(spec, catalog))(point)
    assert resolved.device == "cuda" and resolved.training.precision == "bf16"
    on_cpu = _spec(catalog, resources={"cpu": 1, "gpu": 1},
                   hyperparameters={"device": "cpu"})
    resolved = Resolver(on_cpu, driver.facts_for(on_cpu, catalog))(point)
    assert resolved.device == "cpu" and resolved.training.precision == "fp32"
