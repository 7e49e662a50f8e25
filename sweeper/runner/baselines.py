"""Baselines are the sweep's job: for every baseline key its trials need, the run without
intermediate tasks is computed once and logged once.

The baseline trial is built in the shared stage cache (`baseline-<key>`, under its file
lock: concurrent trials with the same key wait for one build, an interrupted build is
redone), before the trial that needs it reports anything to Tune, so a scheduler never
stops it half-way. Its MLflow child run is tagged `sweeper.role=baseline` and carries the
baseline key; every trial's gains are measured against it. It is logged by the same
recipe as a trial (sweeper.runner.runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sweeper import tracking
from sweeper.cache import StageCache
from sweeper.catalog import Catalog
from sweeper.runner.runs import log_params, log_result, run_tags
from sweeper.trial.environment import Environment
from sweeper.trial.keys import TrialKeys
from sweeper.trial.resolved import ResolvedTrial


@dataclass(frozen=True)
class Baseline:
    run_id: str
    result: dict[str, Any]  # its metrics.json
    folder: Path  # its trial output (stages/, xtreme/, metrics.json)
    built_here: bool = False  # this call trained it (False: served by the stage cache)


def ensure_baseline(resolved: ResolvedTrial, *, key: str, catalog: Catalog,
                    cache: StageCache, tracker: tracking.Tracker, sweep_id: str, sweep: str,
                    parent_run_id: str, env: Environment | None = None) -> Baseline:
    """Build (or fetch) the baseline of `key` and its run (created once per sweep)."""
    from sweeper.trial.run import run_trial

    base = resolved.baseline()
    entry = f"baseline-{key}"
    folder, cached = cache.fetch_or_build(
        entry, lambda dest: run_trial(base, dest / "trial", catalog=catalog, env=env))
    trial_dir = folder / "trial"
    result = json.loads((trial_dir / "metrics.json").read_text())
    with FileLock(str(cache.root / f"{entry}.run.lock")):
        run_key = f"{sweep_id}:baseline:{key}"
        if tracker.finished(run_key):
            run_id = tracker.handle(run_key)
        else:  # (a journaled tracker: when the store does not answer, logged again)
            run_id = _log(base, result, trial_dir, catalog=catalog, tracker=tracker,
                          run_key=run_key, keys=TrialKeys(None, key), sweep_id=sweep_id,
                          sweep=sweep, parent_run_id=parent_run_id)
            tracker.deliver()  # now, so that the next trial finds it logged
    assert run_id is not None
    return Baseline(run_id, result, trial_dir, built_here=not cached)


def _log(base: ResolvedTrial, result: dict[str, Any], trial_dir: Path, *, catalog: Catalog,
         tracker: tracking.Tracker, run_key: str, keys: TrialKeys, sweep_id: str, sweep: str,
         parent_run_id: str) -> str:
    run_id = tracker.start(name=f"baseline | seed {base.seed} | {keys.baseline[:8]}",
                           key=run_key, parent=parent_run_id,
                           tags=run_tags(base, role="baseline", sweep_id=sweep_id,
                                         sweep=sweep, keys=keys))
    log_params(tracker, run_id, base, catalog)
    log_result(tracker, run_id, result, trial_dir)
    tracker.finish(run_id)
    return run_id
