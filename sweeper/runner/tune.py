"""The one place that builds a ray.tune.Tuner: searcher, scheduler, resources, storage,
failure and checkpoint config, and the callbacks on the driver (trials' runs delivered
and closed, a fatal error, Ctrl-C, the heartbeat); workers reused without giving up one
being started (sweeper.runner.actor_reuse)."""

from __future__ import annotations

from typing import Any

from sweeper.runner import trust
from sweeper.runner.context import SweepContext
from sweeper.runner.delivery import courier
from sweeper.runner.state_fs import Record, recording_fs
from sweeper.runner.stop import StopSignal, stop_on_fatal, watch_interrupt
from sweeper.search import searchers
from sweeper.space.space import Resolver
from sweeper.space.spec import SweepSpec
from sweeper.storage import SweepFolder

MAX_FAILURES = 2


def _trainable(sweep: SweepContext, spec: SweepSpec):
    from ray import tune

    from sweeper.runner.actor_reuse import keep_starting_actors
    from sweeper.runner.trainable import trainable

    keep_starting_actors()  # reused workers must not leave the sweep one trial at a time

    def sweeper_trial(config: dict[str, Any]) -> None:
        trainable(config, sweep)

    return tune.with_resources(sweeper_trial, {"cpu": spec.resources["cpu"],
                                             "gpu": spec.resources["gpu"]})


def _scheduler(spec: SweepSpec, cache_root: str):
    from ray.tune.schedulers import ASHAScheduler

    from sweeper.runner.deferral import DeferWaiting

    inner = None
    if spec.scheduler:
        asha = spec.scheduler.get("asha") or {}
        inner = ASHAScheduler(time_attr="targets_done", max_t=len(spec.targets),
                              grace_period=int(asha.get("grace_period", 1)),
                              reduction_factor=float(asha.get("reduction_factor", 2)))
    return DeferWaiting(inner, cache_root)


def _storage_fs(sweep_dir: SweepFolder, sweep: SweepContext) -> Any:
    """The storage's file system as Tune writes through it: the restore files recorded on
    the parent run before they land (sweeper.runner.state_fs)."""
    return recording_fs(sweep_dir.fs, sweep_dir.root,
                        Record(sweep.tracking_uri, sweep.experiment, sweep.parent_run_id))


def make_tuner(spec: SweepSpec, sweep: SweepContext, resolver: Resolver, stop: StopSignal,
               *, sweep_dir: SweepFolder, reuse_workers: bool = True):
    """The sweep's Tuner; each trial's settings are resolved by `resolver` on the driver.
    `sweep_dir`: the sweep's folder in its storage (what `resume` restores from); `stop`:
    where a trial's fatal error is kept when it stops the sweep (sweeper.runner.stop)."""
    from ray import tune

    search_alg, num_samples = searchers.build(spec, resolver)
    return tune.Tuner(
        _trainable(sweep, spec),
        tune_config=tune.TuneConfig(search_alg=search_alg,
                                    scheduler=_scheduler(spec, sweep.cache_root),
                                    num_samples=num_samples, metric="objective", mode=spec.mode,
                                    # a finished trial's worker runs the next trial: its
                                    # imports and caches are paid once per worker, not per trial
                                    reuse_actors=reuse_workers),
        run_config=tune.RunConfig(
            name=sweep_dir.folder, storage_path=sweep_dir.base_root,
            storage_filesystem=_storage_fs(sweep_dir, sweep),
            callbacks=[courier(sweep), stop_on_fatal(stop), watch_interrupt(),
                       trust.heartbeat(sweep.tracking_uri, sweep.experiment,
                                       sweep.parent_run_id)],
            failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
            # A trial's checkpoints (stage markers and the XTREME export; encoders live in
            # the stage cache) are all kept while the sweep runs, and all but the latest
            # pruned once it has finished (sweeper.runner.finish). With a number kept, Tune
            # drops an older checkpoint as it registers a newer one, before the state that
            # points past it reaches the storage: a driver killed in between left a trial
            # whose checkpoint was gone, and `resume` failed it for good.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None)),
    )


def restore_tuner(sweep_dir: SweepFolder, spec: SweepSpec, sweep: SweepContext):
    """The Tuner of an interrupted sweep: unfinished and errored trials run again."""
    from ray import tune

    return tune.Tuner.restore(sweep_dir.root, trainable=_trainable(sweep, spec),
                              resume_unfinished=True, resume_errored=True,
                              storage_filesystem=_storage_fs(sweep_dir, sweep))
