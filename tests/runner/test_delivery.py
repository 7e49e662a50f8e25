"""The driver's part of a trial's run: what the trial's last checkpoint holds undelivered
reaches the store, then a run the trial left RUNNING is closed; trials a resume restored
with writes undelivered are delivered again; the callback travels with the Tuner
without its thread (a real Ray Tune checkpoint on a sqlite MLflow store)."""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray import cloudpickle
from ray.tune import Checkpoint
from ray.tune.experiment import Trial

from sweeper import tracking
from sweeper.runner.context import SweepContext
from sweeper.runner.delivery import FAILED, STOPPED, courier, deliver_ended, ended
from sweeper.runner.hooks import JOURNAL, JOURNAL_PENDING
from sweeper.runner.runs import trial_run_key
from sweeper.tracking.journal import JournalTracker
from tests.tracking.test_journal import Outage


@dataclass
class _Trial:
    """What the callback reads of a Tune trial."""

    config: dict[str, Any]
    status: str = Trial.TERMINATED
    last_result: dict[str, Any] = field(default_factory=dict)
    checkpoint: Any = None


def _sweep(tmp_path: Path) -> SweepContext:
    return SweepContext(name="sweep", sweep_id="s1",
                        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="sweep",
                        parent_run_id="", cache_root=str(tmp_path / "cache"),
                        objective_languages=("sw",), objective_metric="score")


def _ended_in_an_outage(tmp_path: Path, sweep: SweepContext, config: dict) -> _Trial:
    """A trial that wrote its whole run while the server was down: its last checkpoint
    holds the journal, nothing of it delivered."""
    out = tmp_path / "trial"
    down = Outage(tracking.open_store(sweep.tracking_uri))
    down.down = True
    journal = JournalTracker(out / JOURNAL, down, sweep.experiment)
    run = journal.start("trial", trial_run_key(sweep.sweep_id, config), {"role": "trial"})
    journal.log_metrics(run, {"objective": 61.0})
    (out / "metrics.json").write_text("{}")
    journal.log_artifacts(run, out / "metrics.json")
    journal.finish(run)
    pending = journal.deliver()
    ckpt = tmp_path / "checkpoint"
    shutil.copytree(out / JOURNAL, ckpt / JOURNAL)
    return _Trial(config, last_result={JOURNAL_PENDING: pending},
                  checkpoint=Checkpoint.from_directory(str(ckpt)))


def test_an_ended_trials_undelivered_writes_reach_the_store(tmp_path):
    sweep = _sweep(tmp_path)
    trial = _ended_in_an_outage(tmp_path, sweep, {"tasks": "sst2"})
    job = ended(sweep, trial, *STOPPED)
    assert job.pending == 4
    deliver_ended(sweep, job, tracking.open_store(sweep.tracking_uri))
    store = tracking.open_store(sweep.tracking_uri)
    run = store.search([store.experiment("sweep")], {tracking.TRIAL_TAG: job.key})[0]
    assert run.status == "FINISHED" and run.metrics == {"objective": 61.0}
    assert tracking.STOPPED_TAG not in run.tags  # it ran to its end: not closed as KILLED
    assert store.artifacts(run.run_id) == ["metrics.json"]


def test_a_run_the_trial_left_running_is_closed_after_its_writes(tmp_path):
    sweep = _sweep(tmp_path)
    tracker = tracking.Tracker(tracking.open_store(sweep.tracking_uri), "sweep")
    key = trial_run_key(sweep.sweep_id, {"tasks": "qqp"})
    run_id = tracker.start("trial", key, {})
    deliver_ended(sweep, ended(sweep, _Trial({"tasks": "qqp"}, status=Trial.ERROR), *FAILED),
                  tracker.store)
    record = tracker.run(run_id)
    assert record.status == "FAILED" and record.tags["error"] == "trial failed after retries"


def test_trials_a_resume_restored_with_writes_undelivered_are_delivered_once_looked_at(
        tmp_path):
    sweep = _sweep(tmp_path)
    restored = _ended_in_an_outage(tmp_path, sweep, {"tasks": "mnli"})
    callback = cloudpickle.loads(cloudpickle.dumps(courier(sweep)))  # as Tune restores it
    assert callback.delivery is None and not callback.looked
    callback.on_step_begin(0, [restored, _Trial({"tasks": "x"}, status=Trial.RUNNING)])
    callback.on_step_begin(1, [restored])  # once
    callback.on_experiment_end([restored])  # the sweep's end waits for it
    assert callback.delivery.jobs.unfinished_tasks == 0
    store = tracking.open_store(sweep.tracking_uri)
    runs = store.search([store.experiment("sweep")], {})
    assert [(r.status, r.metrics) for r in runs] == [("FINISHED", {"objective": 61.0})]
    state = pickle.loads(pickle.dumps(callback.__getstate__()))
    assert state == {"looked": False}  # no thread, no queue travels with the Tuner
