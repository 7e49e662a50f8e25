"""The signal that stops a whole sweep: the first deterministic error a trial reports.

A trial that meets an error another try would repeat (bad data, a full disk) reports it
under `FATAL` instead of raising (which would have Tune retry it). A Tune callback on the
driver sees the report, records it on the sweep's `StopSignal` and stops Tune as Ctrl-C
does, so every trial stays resumable; the driver then reads the signal and ends the sweep
with the reason. Tune pickles its callbacks with the Tuner, so the signal keeps what it
saw in a small file named by the sweep's id rather than in the object: every copy, and
the copy a resumed Tuner unpickles, reads and writes the same file.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

FATAL = "sweeper_fatal"  # a report key: a deterministic error that stops the whole sweep
# set when Ctrl-C (or a fatal report, which stops Tune the same way) ended this process's
# Tune run: Tune returns its results then as if the run had ended of itself
INTERRUPTED = threading.Event()


class StopSignal:
    """What stopped a sweep, if anything: set once by the first fatal report."""

    def __init__(self, sweep_id: str) -> None:
        self.path = str(Path(tempfile.gettempdir()) / f"sweeper-stop-{sweep_id}.json")

    def clear(self) -> None:
        """Forget what an earlier run of this sweep saw (a resume starts afresh)."""
        Path(self.path).unlink(missing_ok=True)

    def set(self, message: str, trial: str) -> bool:
        """Record the first fatal error; False when one was recorded already."""
        if self.message is not None:
            return False
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{self.path}.tmp"
        Path(tmp).write_text(json.dumps({"message": message, "trial": trial}))
        os.replace(tmp, self.path)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            text = Path(self.path).read_text()
        except FileNotFoundError:
            return {}
        return json.loads(text) if text else {}

    @property
    def message(self) -> str | None:
        return self._read().get("message")

    @property
    def trial(self) -> str | None:
        return self._read().get("trial")


def stop_on_fatal(stop: StopSignal):
    """A Tune callback on the driver: the first trial that reports `FATAL` stops the sweep
    (Tune's own graceful stop, as on Ctrl-C), and `stop` keeps why."""
    from ray import tune

    class StopOnFatal(tune.Callback):
        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            if result.get(FATAL) and stop.set(result[FATAL], trial.trial_id):
                signal.raise_signal(signal.SIGINT)

    return StopOnFatal()


def watch_interrupt():
    """A Tune callback on the driver that notes a Ctrl-C in `INTERRUPTED`. Tune takes the
    signal to end its run gracefully and returns as if the run had ended: a sweep stopped
    between one trial's end and the next one's start (every trial it had made finished)
    looked complete, its parent run FINISHED and its checkpoints pruned. At the run's
    start, just after Tune installed its own handler, this wraps it with one that notes
    the signal first (the main thread only, as Tune)."""
    from ray import tune

    class WatchInterrupt(tune.Callback):
        def setup(self, **info: Any) -> None:
            from sweeper.runner import stop

            stop.INTERRUPTED.clear()
            if threading.current_thread() is not threading.main_thread():
                return
            tune_handler = signal.getsignal(signal.SIGINT)

            def noted(sig: int, frame: Any) -> None:
                stop.INTERRUPTED.set()
                if callable(tune_handler):
                    tune_handler(sig, frame)

            signal.signal(signal.SIGINT, noted)

    return WatchInterrupt()
