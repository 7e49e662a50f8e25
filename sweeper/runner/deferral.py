"""A trial waiting for a stage another trial is building holds no GPU: it is paused.

A trial whose intermediate stage (or baseline) is being built by another trial reports
`waiting_for: <entry>` before doing anything; `DeferWaiting` pauses it (Tune releases a
paused trial's resources) and runs it again only once the entry is in the stage cache,
or its builder died and left the lock free. Every other decision is the inner
scheduler's (FIFO, or ASHA).
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from sweeper.cache import StageCache

WAITING = "waiting_for"


class DeferWaiting(TrialScheduler):
    def __init__(self, inner: TrialScheduler | None, cache_root: str):
        super().__init__()
        self.inner = inner or FIFOScheduler()
        self.cache_root = cache_root
        self.waiting: dict[str, str] = {}  # trial id -> stage-cache entry it waits for

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    @property
    def metric(self) -> str | None:
        return self.inner.metric

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        entry = result.get(WAITING)
        if entry:
            self.waiting[trial.trial_id] = entry
            return TrialScheduler.PAUSE
        return self.inner.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.inner.on_trial_remove(tune_controller, trial)

    def ready(self, trial: Trial) -> bool:
        """A paused trial may run again: its entry is built, or nobody builds it now."""
        entry = self.waiting.get(trial.trial_id)
        if entry is None:
            return True
        cache = StageCache(self.cache_root)
        return cache.has(entry) or not cache.busy(entry)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        for trial in tune_controller.get_trials():
            if trial.status == Trial.PENDING:
                return trial
        for trial in tune_controller.get_trials():
            if trial.status == Trial.PAUSED and self.ready(trial):
                self.waiting.pop(trial.trial_id, None)
                return trial
        return None

    def debug_string(self) -> str:
        return f"{self.inner.debug_string()} Trials waiting for a stage are paused."

    def save(self, checkpoint_path: str) -> None:
        self.inner.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.inner.restore(checkpoint_path)
