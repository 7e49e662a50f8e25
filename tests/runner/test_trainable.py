"""The trainable's pieces that run outside a Tune session: a trial needing an entry that
another trial builds says so (for the scheduler to pause it); an error another try may
not repeat is raised for Tune to retry. A whole trial under Tune is an end-to-end sweep
(tests/test_sweep.py)."""

from __future__ import annotations

import math

import pytest
from filelock import FileLock
from ray import tune

from sweeper.cache import StageCache
from sweeper.runner.context import SweepContext
from sweeper.runner.deferral import WAITING
from sweeper.runner.trainable import trainable, wait_if_built_elsewhere


@pytest.fixture()
def reports(monkeypatch) -> list[dict]:
    """What the trainable reports to Tune (its session exists only inside a Tuner)."""
    sent: list[dict] = []
    monkeypatch.setattr(tune, "report", lambda metrics, **kw: sent.append(dict(metrics)))
    return sent


def _context(cache_root: str) -> SweepContext:
    return SweepContext(name="alpha", sweep_id="s1", tracking_uri="sqlite:///x.db",
                        experiment="alpha", parent_run_id="p", cache_root=cache_root,
                        objective_languages=("en",), objective_metric="score")


def test_a_trial_reports_the_first_entry_another_trial_is_building(tmp_path, reports):
    cache = StageCache(tmp_path)
    cache.fetch_or_build("inter-built", lambda folder: (folder / "w").write_bytes(b"w"))
    wait_if_built_elsewhere(cache, ["inter-built", "baseline-free"])
    assert reports == []  # built, or built by nobody: this trial builds it itself
    builder = FileLock(str(tmp_path / "baseline-busy.lock"))
    builder.acquire()
    try:
        wait_if_built_elsewhere(cache, ["inter-built", "baseline-busy"])
    finally:
        builder.release()
    (waiting,) = reports
    assert waiting[WAITING] == "baseline-busy" and waiting["targets_done"] == 0
    assert math.isnan(waiting["objective"])
    wait_if_built_elsewhere(cache, ["baseline-busy"])  # its builder is gone
    assert len(reports) == 1


def test_an_error_another_try_may_not_repeat_is_raised_for_tune_to_retry(tmp_path, reports):
    with pytest.raises(KeyError, match="settings"):
        trainable({"tasks": "mnli"}, _context(str(tmp_path)))  # not resolved on a driver
    assert reports == []  # not reported as fatal: the sweep goes on
