"""A started sweep run to its end on the driver: the Tuner's fit, then what the sweep
leaves behind (its summary, in its folder and on the parent run; the parent's status),
or, when a trial met an error another try would repeat, every open run marked FAILED
with the reason. Shared by `sweeper run` (driver) and `sweeper resume` (resume)."""

from __future__ import annotations

import errno
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sweeper import tracking
from sweeper.atomic import no_space
from sweeper.errors import SweeperError, one_line
from sweeper.runner import state_fs, trust
from sweeper.runner.context import SweepContext
from sweeper.runner.stop import INTERRUPTED, StopSignal
from sweeper.runner.summary import summarize
from sweeper.space.space import grid
from sweeper.space.spec import SweepSpec
from sweeper.storage import SweepFolder


def keep(sweep_dir: SweepFolder, tracker: tracking.Tracker, parent: str, name: str,
         data: dict[str, Any], folder: str | None = None) -> None:
    """A file of the sweep's, as JSON: in its folder and among the parent's artifacts."""
    text = json.dumps(data, indent=1)
    sweep_dir.write_text(name, text)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_text(text)
        tracker.log_artifacts(parent, Path(tmp) / name, folder)


def planned_trials(spec: SweepSpec) -> int:
    """How many trials a grid asks for (every point); 0 for a search, which may end
    early when it converges (sweeper.search.repeats)."""
    return len(grid(spec)) if spec.algorithm == "grid" else 0


def fail_open_runs(tracker: tracking.Tracker, context: SweepContext, message: str) -> None:
    """A sweep stopped by an error that another try would repeat: its parent and every
    run still RUNNING are marked FAILED with the reason (a resume reopens them)."""
    try:
        for run in tracker.children(context.parent_run_id):
            if run.status == "RUNNING":
                tracker.set_tags(run.run_id, {"error": f"the sweep stopped: {message}"})
                tracker.finish(run.run_id, "FAILED")
        tracker.set_tags(context.parent_run_id, {"error": message})
        tracker.finish(context.parent_run_id, "FAILED")
    except SweeperError:  # the store itself is on the full disk: nothing more can be said
        pass


def fit_sweep(tuner: Any, *, spec: SweepSpec, context: SweepContext,
              tracker: tracking.Tracker, sweep_dir: SweepFolder, stop: StopSignal
              ) -> dict[str, Any]:
    """Run the Tuner to its end; the sweep's summary (kept with the sweep). A fatal error
    a trial reported (`stop`) ends the sweep FAILED, resumable once it is fixed."""
    started = time.time()
    INTERRUPTED.clear()  # (a Tuner without the callback that sets it: never set)
    try:
        results = tuner.fit()
    except OSError as exc:  # Tune's own state files on a full disk
        state_fs.flush(60)
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        fail_open_runs(tracker, context,
                       str(no_space(sweep_dir.location)) if full else one_line(exc))
        raise (no_space(sweep_dir.location) if full else exc) from None
    if not state_fs.flush():
        print("sweeper: Tune's last state is not all in the storage yet (a resume starts "
              "from the state before)", flush=True)
    trust.record_now(sweep_dir.location, tracker, context.parent_run_id)
    message = stop.message
    if message is not None:
        stop.clear()
        fail_open_runs(tracker, context, message)
        raise SweeperError(f"{message} (the sweep stopped, nothing retried: fix it, then "
                           f"`sweeper resume {context.name}`)")
    summary = summarize(results, spec, time.time() - started, planned_trials(spec))
    # Ctrl-C between one trial's end and the next one's start leaves no trial unfinished:
    # the sweep is still interrupted (sweeper.runner.stop.watch_interrupt)
    summary.update(tracking_uri=context.tracking_uri, experiment_id=tracker.experiment_id,
                   parent_run_id=context.parent_run_id, sweep=context.name,
                   interrupted=bool(summary["unfinished"]) or INTERRUPTED.is_set())
    keep(sweep_dir, tracker, context.parent_run_id, "summary.json", summary)
    tracker.log_metrics(context.parent_run_id, {
        "best_objective": summary["best"][0]["objective"] if summary["best"] else float("nan"),
        "trials_finished": summary["finished"], "trials_errored": summary["errored"],
        "intermediate_trained": summary["intermediate_trained"],
        "intermediate_from_cache": summary["intermediate_from_cache"],
        "wall_seconds": summary["wall_seconds"], "trial_seconds": summary["trial_seconds"]})
    status = ("KILLED" if summary["interrupted"] else "FAILED" if summary["errored"]
              else "FINISHED")
    tracker.finish(context.parent_run_id, status)
    if status == "FINISHED":  # nothing left to resume from an older checkpoint
        sweep_dir.prune_checkpoints()
    return summary
