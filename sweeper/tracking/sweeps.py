"""The sweeps of a store: listed, and one of them found by its name, id or a run of it."""

from __future__ import annotations

import time
from typing import Any

from sweeper.errors import SweeperError, one_line
from sweeper.tracking.base import (
    PARENT_TAG,
    ROLE_TAG,
    SWEEP_ID_TAG,
    RunRecord,
    Store,
    Tracker,
)

SWEEP = {ROLE_TAG: "sweep"}
HEARTBEAT_TAG = "sweeper.heartbeat"  # seconds since the epoch, beaten while the driver lives
STALE_S = 300.0  # a RUNNING sweep without a beat for this long: its driver is gone


def sweep_status(parent: RunRecord, now: float | None = None) -> str:
    """The parent run's status, or `interrupted` for a RUNNING sweep whose driver has not
    beaten for STALE_S (killed, or its machine gone)."""
    beat = parent.tags.get(HEARTBEAT_TAG)
    if parent.status != "RUNNING" or not beat:
        return parent.status
    try:
        stale = (now or time.time()) - float(beat) > STALE_S
    except ValueError:
        return parent.status
    return "interrupted" if stale else parent.status


def list_sweeps(store: Store) -> list[dict[str, Any]]:
    """Every sweep of a store: name, status, start, and its trials by status."""
    out = []
    for eid in store.experiments():
        for parent in store.search([eid], SWEEP, limit=100):
            runs = store.search([eid], {PARENT_TAG: parent.run_id})
            trials = [r for r in runs if r.tags.get(ROLE_TAG, "trial") == "trial"]
            counts: dict[str, int] = {}
            for r in trials:
                counts[r.status] = counts.get(r.status, 0) + 1
            out.append({"sweep": store.experiment_name(eid), "run_id": parent.run_id,
                        "sweep_id": parent.tags.get(SWEEP_ID_TAG, "-"),
                        "status": sweep_status(parent), "started": parent.start_time,
                        "trials": len(trials), "by_status": counts,
                        "baselines": len(runs) - len(trials)})
    return sorted(out, key=lambda r: r["started"] or 0)


def sweep_parents(store: Store, name: str) -> list[RunRecord]:
    """The parent runs of the sweeps called `name` (none when there is no such
    experiment)."""
    eid = store.experiment(name)
    return store.search([eid], SWEEP, limit=100) if eid is not None else []


def open_sweep(store: Store, name_or_run: str) -> tuple[Tracker, str]:
    """(tracker, parent run id) of exactly one sweep, given its name (when one sweep has
    it), its sweep id, or a run id of it."""
    try:
        eid = store.experiment(name_or_run)
        parent = None
        if eid is None:
            found = [r for e in store.experiments()
                     for r in store.search([e], {SWEEP_ID_TAG: name_or_run, **SWEEP}, limit=1)]
            run = found[0] if found else store.run(name_or_run)  # a parent or a child
            eid = run.experiment_id
            parent = run.tags.get(PARENT_TAG, run.run_id)
        name = store.experiment_name(eid)
    except Exception as exc:
        raise SweeperError(f"no sweep or run '{name_or_run}' at {store.uri} "
                           f"({one_line(exc, 200)})") from None
    tracker = Tracker(store, name)
    if parent is None:
        parents = sweep_parents(store, name)
        if not parents:
            raise SweeperError(f"experiment '{name_or_run}' at {store.uri} has no sweep "
                               "parent run")
        if len(parents) > 1:
            ids = ", ".join(p.tags.get(SWEEP_ID_TAG, p.run_id) for p in parents)
            raise SweeperError(f"{len(parents)} sweeps are called '{name_or_run}' at "
                               f"{store.uri}: give one sweep id ({ids}; see `sweeper ls`)")
        parent = parents[0].run_id
    return tracker, parent
