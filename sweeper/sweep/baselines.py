"""Baselines are the sweep's job: for every baseline key its trials need, the run without
intermediate tasks is computed once and logged once.

The baseline trial is built in the shared stage cache (`baseline-<key>`, under its file
lock: concurrent trials with the same key wait for one build, an interrupted build is
redone), before the trial that needs it reports anything to Tune, so a scheduler never
stops it half-way. Its MLflow child run is tagged `sweeper.role=baseline` and carries the
baseline key; every trial's gains are measured against it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sweeper.cache import StageCache
from sweeper.catalog import Catalog
from sweeper.sweep import tracking
from sweeper.trial.settings import IntermediateSettings, TrialSettings


@dataclass(frozen=True)
class Baseline:
    run_id: str
    result: dict[str, Any]  # its metrics.json
    folder: Path  # its trial output (stages/, xtreme/, metrics.json)
    built_here: bool = False  # this call trained it (False: served by the stage cache)


def baseline_settings(settings: TrialSettings) -> TrialSettings:
    """The same trial without intermediate tasks; the intermediate group at its defaults
    (none of it can change a baseline, so every trial of a key shares one build)."""
    return dataclasses.replace(settings, intermediate=IntermediateSettings())


def ensure_baseline(settings: TrialSettings, *, key: str, catalog: Catalog,
                    cache: StageCache, tracker: tracking.Tracker, sweep: str,
                    parent_run_id: str) -> Baseline:
    """Build (or fetch) the baseline of `key` and its MLflow run (created once per sweep,
    `sweep` being the sweep's id)."""
    from sweeper.trial.run import run_trial

    base = baseline_settings(settings)
    entry = f"baseline-{key}"
    folder, cached = cache.fetch_or_build(
        entry, lambda dest: run_trial(base, dest / "trial", catalog=catalog))
    trial_dir = folder / "trial"
    result = json.loads((trial_dir / "metrics.json").read_text())
    with FileLock(str(cache.root / f"{entry}.run.lock")):
        run_key = f"{sweep}:baseline:{key}"
        run_id = tracker.find(tracking.TRIAL_TAG, run_key)
        if run_id is None or tracker.client.get_run(run_id).info.status != "FINISHED":
            run_id = _log(base, result, trial_dir, tracker=tracker, run_key=run_key, key=key,
                          parent_run_id=parent_run_id)
    return Baseline(run_id, result, trial_dir, built_here=not cached)


def _log(settings: TrialSettings, result: dict[str, Any], trial_dir: Path, *,
         tracker: tracking.Tracker, run_key: str, key: str, parent_run_id: str) -> str:
    tags = {tracking.ROLE_TAG: "baseline", tracking.BASELINE_KEY_TAG: key,
            tracking.SWEEP_ID_TAG: run_key.split(":", 1)[0],
            "protocol": "zero_shot", "model": settings.model, "data_source": settings.data,
            "synthetic": str(settings.data == "sample").lower(),
            **{f"protocol.{t}": "zero_shot" for t in settings.targets}}
    run_id = tracker.start(name=f"baseline | seed {settings.seed} | {key[:8]}", key=run_key,
                           parent=parent_run_id, tags=tags)
    params = {s.name: (",".join(v) if isinstance(v, list) else v)
              for s, v in settings.items() if s.group not in ("runtime", "intermediate")}
    params.update(tasks="(none)", task_count=0, translated_count=0, mix="none",
                  lr=settings.effective_lr())
    tracker.log_params(run_id, params)
    tracker.log_metrics(run_id, tracking.trial_metrics(result))
    tracker.log_artifacts(run_id, trial_dir / "metrics.json")
    tracker.log_artifacts(run_id, trial_dir / "xtreme", "xtreme")
    tracker.finish(run_id)
    return run_id
