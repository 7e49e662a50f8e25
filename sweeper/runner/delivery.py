"""The driver's part of a trial's run: what the trial's journal could not deliver before
the trial ended (sweeper.tracking.journal: the tracking server was down) is delivered
from the trial's last checkpoint, and then the run is closed if the trial could not
close it (stopped early by the scheduler: KILLED; failed for good: FAILED).

All of it on a thread of its own (`Delivery`), in the order trials ended, so that the
sweep's loop never waits on the tracking server: trials go on being scheduled through
an outage, and the sweep's end waits until everything is delivered. A driver killed
with deliveries queued loses nothing: each ended trial's report says what its
checkpoint holds undelivered (`journal_pending`), and a resume delivers it again
(`Courier.on_step_begin`: delivering twice is harmless).
"""

from __future__ import annotations

import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper import tracking
from sweeper.errors import one_line
from sweeper.runner.context import SweepContext
from sweeper.runner.hooks import JOURNAL, JOURNAL_PENDING
from sweeper.runner.runs import trial_run_key
from sweeper.tracking.journal import JournalTracker

# how a run the trial left RUNNING is closed: an ended trial was stopped early (by the
# scheduler: a trial that ran to its end closed its run); an errored one failed for good
STOPPED = ("KILLED", {tracking.STOPPED_TAG: "true"})
FAILED = ("FAILED", {"error": "trial failed after retries"})
QUICK_DRAIN_S = 10.0  # an interrupted sweep's end waits no longer (a resume delivers it)


@dataclass(frozen=True)
class Ended:
    """A trial Tune ended, as its delivery needs it (taken at the moment it ended)."""

    key: str  # its run's key
    status: str  # what its run becomes if the trial left it RUNNING
    tags: dict[str, str]
    pending: int  # writes its last checkpoint holds undelivered
    checkpoint: Any  # that checkpoint (ray.tune.Checkpoint), or None


def ended(sweep: SweepContext, trial: Any, status: str, tags: dict[str, str]) -> Ended:
    return Ended(trial_run_key(sweep.sweep_id, trial.config), status, tags,
                 int((trial.last_result or {}).get(JOURNAL_PENDING) or 0), trial.checkpoint)


def deliver_ended(sweep: SweepContext, job: Ended, store: tracking.Store) -> None:
    """The trial's undelivered writes, from its checkpoint; then its run closed if the
    trial left it RUNNING. `store`: the sweep's, waiting on the server as a sweep does."""
    if job.pending and job.checkpoint is not None:
        import pyarrow.fs

        with tempfile.TemporaryDirectory(prefix="sweeper-journal-") as tmp:
            local = Path(tmp) / JOURNAL
            pyarrow.fs.copy_files(f"{job.checkpoint.path}/{JOURNAL}", str(local),
                                  source_filesystem=job.checkpoint.filesystem)
            left = JournalTracker(local, store, sweep.experiment).deliver()
            if left:
                raise RuntimeError(f"{left} writes of run {job.key} not delivered: the "
                                   f"tracking server did not answer")
    tracker = tracking.Tracker(store, sweep.experiment)
    run_id = tracker.find(tracking.TRIAL_TAG, job.key)
    if run_id and tracker.run(run_id).status == "RUNNING":
        tracker.set_tags(run_id, job.tags)
        tracker.finish(run_id, job.status)


class Delivery:
    """One thread that runs `deliver_ended` for each ended trial, in order."""

    def __init__(self, sweep: SweepContext) -> None:
        self.sweep = sweep
        self.jobs: queue.Queue[Ended] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="sweeper-delivery", daemon=True)
        self.thread.start()

    def put(self, job: Ended) -> None:
        self.jobs.put(job)

    def _run(self) -> None:
        store = None  # one for every delivery, opened by the first
        while True:
            job = self.jobs.get()
            try:
                store = store or tracking.sweep_store(self.sweep.tracking_uri)
                deliver_ended(self.sweep, job, store)
            except Exception as exc:  # its report still says what is pending: a resume
                print(f"sweeper: the run of {job.key} is not up to date in the tracking "
                      f"store ({one_line(exc)}); `sweeper resume` delivers it", flush=True)
            finally:
                self.jobs.task_done()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued trial is delivered; whether that happened in time."""
        done = threading.Event()

        def wait() -> None:
            self.jobs.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)


def courier(sweep: SweepContext):
    """The Tune callback on the driver that hands ended trials to a `Delivery`."""
    from ray import tune
    from ray.tune.experiment import Trial

    class Courier(tune.Callback):
        def __init__(self) -> None:
            self.delivery: Delivery | None = None
            self.looked = False  # at the trials a resume restored

        def __getstate__(self) -> dict[str, Any]:  # pickled with the Tuner: no thread
            return {"looked": False}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__init__()

        def _put(self, trial: Any, status: str, tags: dict[str, str]) -> None:
            if self.delivery is None:
                self.delivery = Delivery(sweep)
            self.delivery.put(ended(sweep, trial, status, tags))

        def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
            """Once: trials that had ended before a resume, with writes undelivered."""
            if self.looked:
                return
            self.looked = True
            ends = {Trial.TERMINATED: STOPPED, Trial.ERROR: FAILED}
            for trial in trials:
                if trial.status in ends and (trial.last_result or {}).get(JOURNAL_PENDING):
                    self._put(trial, *ends[trial.status])

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._put(trial, *STOPPED)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._put(trial, *FAILED)

        def on_experiment_end(self, trials: list, **info: Any) -> None:
            """The sweep ends once every ended trial is delivered (an interrupted one
            waits a few seconds at most: its resume delivers the rest)."""
            from sweeper.runner.stop import INTERRUPTED  # (an Event: not pickled with it)

            if self.delivery is not None:
                timeout = QUICK_DRAIN_S if INTERRUPTED.is_set() else None
                if not self.delivery.drain(timeout):
                    print("sweeper: some trials' runs are not up to date in the tracking "
                          "store yet; `sweeper resume` delivers them", flush=True)

    return Courier()
