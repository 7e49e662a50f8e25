"""`sweeper resume`: an interrupted (or stopped) sweep continued from its storage.

Ray Tune restores a sweep from pickles in its storage (`tuner.pkl`, the searcher's
state), and whoever can write that storage can make a resume run code. The driver
therefore records the hashes of those pickles on the sweep's parent run, outside the
storage, every time it writes them (sweeper.runner.trust), and a resume refuses storage
whose pickles differ from that record unless told to trust it. A resume that cannot
start leaves the sweep's status as it found it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sweeper import tracking
from sweeper.catalog import load_catalog
from sweeper.errors import ConfigError, SweeperError
from sweeper.runner import preflight, trust
from sweeper.runner.context import STATE_FILE, Where, sweep_context
from sweeper.runner.finish import fit_sweep
from sweeper.runner.ray_env import init_ray
from sweeper.runner.stop import StopSignal
from sweeper.runner.tune import restore_tuner
from sweeper.space.spec import parse_spec
from sweeper.storage import SweepFolder


def find_sweep(name_or_path: str, storage: str) -> SweepFolder:
    """The folder of a sweep given its name (under `storage`, a path or a URI) or its own
    path or URI."""
    candidates = [SweepFolder(storage, name_or_path)]
    if "/" in name_or_path.rstrip("/"):
        parent, _, leaf = name_or_path.rstrip("/").rpartition("/")
        candidates.insert(0, SweepFolder(parent, leaf))
    for candidate in candidates:
        if candidate.exists(STATE_FILE):
            return candidate
    raise ConfigError(f"no sweep '{name_or_path}' (looked for {STATE_FILE} in "
                      f"{' and '.join(c.location for c in candidates)})")


def resume_sweep(name_or_path: str, storage: str = "runs", address: str | None = None,
                 trust_storage: bool = False) -> dict[str, Any]:
    """Continue an interrupted sweep: unfinished and errored trials run again, once the
    storage's restore files match the parent run's record (or `trust_storage`)."""
    from ray import tune

    sweep_dir = find_sweep(name_or_path, storage)
    state = json.loads(sweep_dir.read_text(STATE_FILE))
    catalog = load_catalog()
    spec = replace(parse_spec(state["spec_raw"], catalog, state["name"]),
                   source_path=state["spec_path"])
    if not tune.Tuner.can_restore(sweep_dir.location):
        raise SweeperError(f"{sweep_dir.location} holds no Ray Tune experiment state to "
                           "resume")
    preflight.check_tracking(state["tracking_uri"])
    tracker = tracking.Tracker(tracking.sweep_store(state["tracking_uri"]), state["name"])
    parent = tracker.run(state["parent_run_id"])
    trust.check(sweep_dir.location, parent.tags, trust=trust_storage)  # before Ray reads it
    preflight.check_address(address)
    init_ray(address)
    preflight.check_gpus(spec, address)
    sweep_id = state.get("sweep_id", state["name"])
    before = parent.status
    tracker.start(name=state["name"], key=f"{sweep_id}:sweep", tags={})
    where = Where(state["name"], state.get("folder", state["name"]), state["storage"],
                  state["tracking_uri"], state["cache"])
    context = sweep_context(spec, catalog, where, sweep_id, state["parent_run_id"])
    stop = StopSignal(sweep_id)  # the restored Tuner's callback writes the same file
    stop.clear()
    try:
        tuner = restore_tuner(sweep_dir, spec, context)
    except BaseException:  # a failed start leaves the parent as it found it
        tracker.finish(state["parent_run_id"], before if before != "RUNNING" else "KILLED")
        raise
    return fit_sweep(tuner, spec=spec, context=context, tracker=tracker, sweep_dir=sweep_dir,
                     stop=stop)
