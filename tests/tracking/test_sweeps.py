"""The sweeps of a store: listed and opened by name, id or run; a sweep whose driver
stopped beating is interrupted."""

from __future__ import annotations

import pytest

from sweeper import tracking
from sweeper.errors import SweeperError


def _sweep(store, name: str, sweep_id: str, trials: list[str]) -> str:
    tracker = tracking.Tracker(store, name)
    parent = tracker.start(name, f"{sweep_id}:sweep", {tracking.ROLE_TAG: "sweep",
                                                       tracking.SWEEP_ID_TAG: sweep_id})
    for status in trials:
        run = tracker.start("t", f"{sweep_id}:{status}:{len(trials)}", {}, parent=parent)
        tracker.finish(run, status)
    tracker.start("b", f"{sweep_id}:baseline", {tracking.ROLE_TAG: "baseline"}, parent=parent)
    return parent


def test_sweeps_are_listed_and_opened_by_name_id_or_run(store):
    parent = _sweep(store, "alpha", "id-a", ["FINISHED", "FAILED"])
    listed = tracking.list_sweeps(store)
    assert [(s["sweep"], s["sweep_id"], s["trials"], s["baselines"]) for s in listed] == [
        ("alpha", "id-a", 2, 1)]
    assert listed[0]["by_status"] == {"FINISHED": 1, "FAILED": 1}
    for handle in ("alpha", "id-a", parent):
        tracker, found = tracking.open_sweep(store, handle)
        assert found == parent and tracker.experiment == "alpha"
    child = tracking.Tracker(store, "alpha").children(parent)[0].run_id
    assert tracking.open_sweep(store, child)[1] == parent
    _sweep(store, "alpha", "id-b", [])
    with pytest.raises(SweeperError, match="2 sweeps are called 'alpha'.*id-a"):
        tracking.open_sweep(store, "alpha")
    with pytest.raises(SweeperError, match="no sweep or run 'nope'"):
        tracking.open_sweep(store, "nope")


def test_a_sweep_whose_driver_stopped_beating_is_interrupted():
    from sweeper.tracking.base import RunRecord
    from sweeper.tracking.sweeps import HEARTBEAT_TAG, STALE_S, sweep_status

    def parent(status: str, beat: float | None) -> RunRecord:
        tags = {HEARTBEAT_TAG: f"{beat:.0f}"} if beat is not None else {}
        return RunRecord("r", "e", "s", status, 0, tags=tags)

    now = 1_000_000.0
    assert sweep_status(parent("RUNNING", now - 10), now) == "RUNNING"
    assert sweep_status(parent("RUNNING", now - STALE_S - 1), now) == "interrupted"
    assert sweep_status(parent("FINISHED", now - STALE_S - 1), now) == "FINISHED"
    assert sweep_status(parent("RUNNING", None), now) == "RUNNING"  # a sweep before beats
