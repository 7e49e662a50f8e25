"""The Ray Tune function trainable: one trial on one Ray actor (GPU where there is one).

It receives the trial's settings resolved on the driver (`config["settings"]`), restores
the trial's output folder from its last checkpoint (a retried trial skips finished
stages), logs into the trial's own child run (found again by key on retry or resume),
and reports + checkpoints at every stage boundary (sweeper.runner.hooks).
"""

from __future__ import annotations

import functools
import math
import shutil
import time
from pathlib import Path
from typing import Any

from sweeper import tracking
from sweeper.atomic import NoSpace, disk_full
from sweeper.catalog import Catalog, load_catalog
from sweeper.errors import SweeperError, one_line
from sweeper.runner import room
from sweeper.runner.baselines import ensure_baseline
from sweeper.runner.context import SweepContext
from sweeper.runner.deferral import WAITING
from sweeper.runner.hooks import JOURNAL, TuneHooks
from sweeper.runner.runs import (
    design_tags,
    log_params,
    log_result,
    run_tags,
    trial_run_key,
)
from sweeper.runner.stop import FATAL
from sweeper.space.objective import both, objective
from sweeper.space.params import RESOLVED, without_resolved
from sweeper.space.space import describe_params
from sweeper.tracking.journal import JournalTracker
from sweeper.trial.keys import TrialKeys, trial_keys
from sweeper.trial.resolved import ResolvedTrial
from sweeper.trial.scores import gains


def wait_if_built_elsewhere(cache: Any, entries: list[str]) -> None:
    """Another trial builds an entry this one needs: report it, so that the scheduler
    pauses this trial (a paused trial holds no GPU) until the entry is there
    (sweep.deferral). Without that scheduler the trial goes on and waits on the lock."""
    from ray import tune

    busy = [e for e in entries if not cache.has(e) and cache.busy(e)]
    if busy:
        tune.report({"objective": math.nan, WAITING: busy[0], "targets_done": 0})


def _restore(out: Path) -> None:
    """A retry starts from the last finished stage its checkpoint holds."""
    from ray import tune

    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as saved:
            shutil.copytree(saved, out, dirs_exist_ok=True)


FATAL_WAIT_S = 600  # how long a trial that reported one waits to be stopped by the driver


def trainable(config: dict[str, Any], sweep: SweepContext) -> None:
    """Ray Tune function trainable: the whole pipeline for one resolved trial. An error
    that another try would repeat (bad data, a full disk: sweeper's own errors) is not
    raised, which would have Tune retry it: the trial reports it and waits, and the
    driver stops the sweep in a state `sweeper resume` continues once it is fixed. A full
    disk is first waited out (sweeper.runner.room): once it has room the trial goes on
    from its last finished stage, in this process, into the same run."""
    from ray import tune

    until = time.monotonic() + room.patience()
    while True:
        state: dict[str, Any] = {}
        try:
            _run(config, sweep, state)
            return
        except Exception as exc:  # noqa: BLE001 (a full disk says so in many ways)
            fatal = exc if isinstance(exc, SweeperError) else \
                disk_full(exc, state.get("out"), sweep.cache_root)
            if fatal is None:
                raise
            if not (isinstance(fatal, NoSpace) and room.wait_for_room(fatal, until)):
                break
    message = one_line(fatal)
    if state.get("run_id"):
        tracker = state["tracker"]
        tracker.set_tags(state["run_id"], {"error": message})
        tracker.finish(state["run_id"], "FAILED")
        _try_delivering(tracker)
    tune.report({"objective": math.nan, "targets_done": 0, FATAL: message})
    time.sleep(FATAL_WAIT_S)  # the driver stops the sweep now (sweeper.runner.stop)
    raise fatal


def _run(config: dict[str, Any], sweep: SweepContext, state: dict[str, Any]) -> None:
    from ray import tune

    from sweeper.cache import StageCache
    from sweeper.trial.environment import reopen
    from sweeper.trial.run import run_trial

    catalog = load_catalog()
    resolved: ResolvedTrial = config[RESOLVED]
    context = tune.get_context()
    out = Path(context.get_trial_dir()).resolve() / "trial"
    state["out"] = out
    _restore(out)
    cache = StageCache(sweep.cache_root)
    keys = trial_keys(resolved, catalog)
    inter = [keys.intermediate] if keys.intermediate else []
    wait_if_built_elsewhere(cache, inter + [f"baseline-{keys.baseline}"])
    tracker, run_id = _open_run(config, sweep, out, keys, catalog)
    state.update(tracker=tracker, run_id=run_id)
    env = reopen(resolved, catalog)
    started = time.time()
    try:
        baseline = ensure_baseline(resolved, key=keys.baseline, catalog=catalog, cache=cache,
                                   tracker=tracker, sweep_id=sweep.sweep_id, sweep=sweep.name,
                                   parent_run_id=sweep.parent_run_id, env=env)
        tracker.set_tags(run_id, {tracking.BASELINE_RUN_TAG: baseline.run_id})
        wait_if_built_elsewhere(cache, inter)  # another trial may have started it meanwhile
        if not resolved.tasks:  # a trial of the reference itself: served by the baseline
            shutil.copytree(baseline.folder, out, dirs_exist_ok=True)
        score = functools.partial(objective, languages=list(sweep.objective_languages),
                                  metric=sweep.objective_metric, baseline=baseline.result,
                                  selection=sweep.selection)
        hooks = TuneHooks(tracker, run_id, out=out, score=score, started=started,
                          last_stage=resolved.targets[-1],
                          device=resolved.device)
        result = run_trial(resolved if resolved.tasks else resolved.baseline(), out,
                           hooks=hooks, stage_cache=cache, catalog=catalog, env=env)
    except SystemExit:  # Tune stopped the trial (scheduler): not a failure
        tracker.set_tags(run_id, {tracking.STOPPED_TAG: "true"})
        tracker.finish(run_id, "KILLED")
        _try_delivering(tracker)
        raise
    except SweeperError:
        raise  # handled by `trainable`: the sweep stops, nothing is retried
    except Exception:
        tracker.finish(run_id, "FAILED")
        _try_delivering(tracker)
        raise
    _close(tracker, run_id, hooks, result, out, baseline, resolved, catalog, started)


def _open_run(config: dict[str, Any], sweep: SweepContext, out: Path, keys: TrialKeys,
              catalog: Catalog) -> tuple[JournalTracker, str]:
    """The trial's run, opened with its tags and params. Its writes are journaled in the
    trial folder and delivered whenever the store answers (one try each time): a trial
    trains on through a tracking server's outage (sweeper.tracking.journal)."""
    resolved: ResolvedTrial = config[RESOLVED]
    params = without_resolved(config)
    tracker = JournalTracker(out / JOURNAL, tracking.open_store(sweep.tracking_uri, 0.0),
                             sweep.experiment)
    run_id = tracker.start(name=describe_params(params),
                           key=trial_run_key(sweep.sweep_id, config),
                           parent=sweep.parent_run_id,
                           tags={**run_tags(resolved, role="trial", sweep_id=sweep.sweep_id,
                                            sweep=sweep.name, keys=keys),
                                 **design_tags(params)})
    log_params(tracker, run_id, resolved, catalog)
    if params.get("rung") is not None:  # a fidelity ladder's trial: its rung, as a param too
        tracker.log_params(run_id, {"rung": params["rung"], "rung_via": params.get("via", "")})
    tracker.deliver()
    return tracker, run_id


def _try_delivering(tracker: tracking.Tracker) -> None:
    """A trial that ends on an error delivers what it can; the driver closes its run
    either way (sweeper.runner.delivery)."""
    try:
        tracker.deliver()
    except Exception as exc:  # noqa: BLE001 (the error that ended the trial is what counts)
        print(f"sweeper: the trial's run was not updated: {one_line(exc)}", flush=True)


def _close(tracker: tracking.Tracker, run_id: str, hooks: TuneHooks, result: dict[str, Any],
           out: Path, baseline: Any, resolved: ResolvedTrial, catalog: Any,
           started: float) -> None:
    """Log what the trial found, close its run, and send Tune its last report."""
    inter = result["training"].get("intermediate")
    if inter and inter["cached"]:  # the curve of the run that trained this cached encoder
        hooks.curve += [("intermediate", point["step"], point) for point in inter["history"]]
        hooks.send_curve()
        tracker.set_tags(run_id, {"intermediate_from_cache": "true"})
    log_result(tracker, run_id, result, out, extra={
        "objective": hooks.score(result), "trial_seconds": time.time() - started,
        **both(result, list(hooks.score.keywords["languages"]),
               metric=hooks.score.keywords["metric"], baseline=baseline.result),
        **(gains(result, baseline.result, catalog) if resolved.tasks else {})})
    tracker.finish(run_id)
    if hooks.pending is None:  # a retry that found every stage done: report the result again
        hooks.on_stage(resolved.targets[-1], result, out / "stages")
    # the whole trial, its logging included; of it, the stages (the rest is bookkeeping)
    built = baseline.result["timings"]["this_run_s"] if baseline.built_here else 0.0
    hooks.annotate(trial_seconds=time.time() - started,
                   stage_seconds=result["timings"]["this_run_s"] + built)
    hooks.flush()
