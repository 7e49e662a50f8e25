"""The one place that builds a ray.tune.Tuner: searcher, scheduler, resources, storage,
failure config and the MLflow parent run. `run_sweep` starts a sweep, `resume_sweep`
continues an interrupted one (Tuner.restore, errored trials retried).

Without an address Ray starts locally, bound to 127.0.0.1 only; with `--address`
(auto or HOST:PORT) the sweep joins an existing cluster, as `ray job submit` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sweeper.catalog import load_catalog
from sweeper.errors import ConfigError, SweeperError
from sweeper.sweep import preflight, tracking
from sweeper.sweep.ray_env import init_ray
from sweeper.sweep.spec import SweepSpec, load_spec, parse_spec
from sweeper.sweep.storage import SweepFolder, is_uri
from sweeper.sweep.summary import summarize
from sweeper.sweep.trainable import SweepContext

STATE_FILE = "sweeper.json"
MAX_FAILURES = 2


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _searcher(spec: SweepSpec) -> tuple[Any, dict[str, Any], int]:
    """(search_alg, param_space, num_samples) for the spec's algorithm."""
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from sweeper.sweep import space

    if spec.algorithm == "grid":  # each point once, as flat parameters (readable tables)
        from ray.tune.search import BasicVariantGenerator

        points = space.grid(spec)
        keys = sorted({k for p in points for k in p})  # presets must name known keys
        domains = {k: tune.choice(sorted({p[k] for p in points}, key=str)) for k in keys}
        return BasicVariantGenerator(points_to_evaluate=points), domains, len(points)
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from sweeper.sweep.repeats import SeedRepeats

    sampler = (optuna.samplers.RandomSampler(seed=spec.seeds[0]) if spec.algorithm == "random"
               else optuna.samplers.TPESampler(seed=spec.seeds[0]))
    search = OptunaSearch(space=space.define_by_run(spec), metric="objective", mode=spec.mode,
                          sampler=sampler)
    repeats = SeedRepeats(search, spec.seeds, metric="objective", mode=spec.mode)
    return ConcurrencyLimiter(repeats, max_concurrent=spec.max_concurrent), {}, spec.num_samples


def _trainable(sweep: SweepContext, spec: SweepSpec):
    from ray import tune

    from sweeper.sweep.trainable import trainable

    def sweeper_trial(params: dict[str, Any]) -> None:
        trainable(params, sweep)

    return tune.with_resources(sweeper_trial, {"cpu": spec.resources["cpu"],
                                             "gpu": spec.resources["gpu"]})


def _run_status_callback(sweep: SweepContext):
    """A Tune callback on the driver that closes trial runs the trainable could not close:
    trials stopped early by the scheduler (KILLED) and trials that failed for good (FAILED)."""
    from ray import tune

    class CloseRuns(tune.Callback):
        def _close(self, trial: Any, status: str, tags: dict[str, str]) -> None:
            tracker = tracking.Tracker(sweep.tracking_uri, sweep.experiment)
            run_id = tracker.find(tracking.TRIAL_TAG, f"{sweep.sweep_id}:{trial.trial_id}")
            if run_id and tracker.client.get_run(run_id).info.status == "RUNNING":
                tracker.set_tags(run_id, tags)
                tracker.finish(run_id, status)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._close(trial, "KILLED", {"stopped_early": "true"})

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._close(trial, "FAILED", {"error": "trial failed after retries"})

    return CloseRuns()


def _tuner(spec: SweepSpec, sweep: SweepContext, storage: str, folder: str,
           reuse_workers: bool = True):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from sweeper.sweep.deferral import DeferWaiting

    search_alg, param_space, num_samples = _searcher(spec)
    scheduler = None
    if spec.scheduler:
        asha = spec.scheduler.get("asha") or {}
        scheduler = ASHAScheduler(time_attr="targets_done", max_t=len(spec.targets),
                                  grace_period=int(asha.get("grace_period", 1)),
                                  reduction_factor=float(asha.get("reduction_factor", 2)))
    scheduler = DeferWaiting(scheduler, sweep.cache_root)
    return tune.Tuner(
        _trainable(sweep, spec),
        param_space=param_space,
        tune_config=tune.TuneConfig(search_alg=search_alg, scheduler=scheduler,
                                    num_samples=num_samples, metric="objective", mode=spec.mode,
                                    max_concurrent_trials=spec.max_concurrent,
                                    # a finished trial's worker runs the next trial: its
                                    # imports and caches are paid once per worker, not per trial
                                    reuse_actors=reuse_workers),
        run_config=tune.RunConfig(
            name=folder, storage_path=storage, callbacks=[_run_status_callback(sweep)],
            failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
            # The latest checkpoint holds every finished stage's outputs (stage markers and
            # the XTREME export; encoders live in the stage cache): older ones are dropped,
            # so each output is stored once.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1)),
    )


def _context(spec: SweepSpec, *, name: str, sweep_id: str, uri: str, parent: str,
             cache_root: str) -> SweepContext:
    return SweepContext(name=name, sweep_id=sweep_id, spec_raw=spec.raw, tracking_uri=uri,
                        experiment=name,
                        parent_run_id=parent, cache_root=cache_root,
                        cpus_per_trial=spec.resources["cpu"])


def run_sweep(space_file: str, *, name: str | None = None, storage: str = "runs",
              tracking_uri: str | None = None, address: str | None = None,
              overrides: list[str] | None = None, cache: str | None = None,
              new: bool = False, reuse_workers: bool = True) -> dict[str, Any]:
    """Validate the space, open the MLflow parent run, run every trial; the summary.
    A sweep gets an id apart from its name; a name already used refuses unless `new`
    (another sweep under the same name, in its own folder `NAME-<id>`). `reuse_workers`
    False starts a fresh Ray worker per trial (the baseline of bench/sweep_overhead.py)."""
    catalog = load_catalog()
    spec = load_spec(space_file, catalog, overrides)
    name = name or spec.name
    sweep_id = uuid.uuid4().hex[:12]
    folder = f"{name}-{sweep_id[:6]}" if new else name
    remote = is_uri(storage)
    storage = storage if remote else str(Path(storage).resolve())
    if not remote:
        preflight.check_storage(storage)
    sweep_dir = SweepFolder(storage, folder)
    if sweep_dir.exists(STATE_FILE):
        raise ConfigError(f"sweep '{name}' already exists in {storage}: continue it with "
                          f"`sweeper resume {name}`, or start another with --new")
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri is None:
        if remote or address is not None:
            raise ConfigError(f"with {'a remote --storage' if remote else '--address'}, give "
                              "--tracking-uri: an MLflow server every node reaches "
                              "(http://HOST:5000), or a sqlite file on a shared mount, asked "
                              "for explicitly (sqlite:////mnt/shared/mlflow.db)")
        uri = tracking.default_uri(Path(storage))
    if cache is None:
        if remote:
            raise ConfigError("with a remote --storage, give --cache (a folder every node sees)")
        cache = str(Path(sweep_dir.location) / "stage_cache")
    # Checked before Ray starts or any run is opened: each fails in seconds, one line.
    preflight.check_storage(storage)
    preflight.check_tracking(uri)
    existing = tracking.sweep_parents(uri, name)
    if existing and not new:
        raise ConfigError(f"a sweep called '{name}' is already in the tracking store "
                          f"({uri}): continue it with `sweeper resume {name}`, or start "
                          "another with --new")
    preflight.check_address(address)
    preflight.check_model(spec.model)
    preflight.check_data(spec, catalog)
    if address is None:
        preflight.check_gpus(spec, None)
    _say_objective(spec, catalog)
    init_ray(address)
    if address is not None:
        preflight.check_gpus(spec, address)
    tracker = tracking.Tracker(uri, name, tracking.artifact_root(uri, storage, remote))
    parent = tracker.start(name=name, key=f"{sweep_id}:sweep", tags={
        tracking.ROLE_TAG: "sweep", tracking.SWEEP_ID_TAG: sweep_id, "sweeper.folder": folder,
        "model": spec.model, "data_source": spec.data,
        "synthetic": str(spec.data == "sample").lower(), "git_revision": git_revision()})
    try:
        tracker.log_params(parent, {"space_file": Path(spec.source_path).name,
                                    "targets": ",".join(spec.targets),
                                    "algorithm": spec.algorithm,
                                    "num_samples": spec.num_samples, "seeds": spec.seeds,
                                    "objective_languages": spec.objective_languages,
                                    "objective_metric": spec.objective_metric})
        tracker.log_artifacts(parent, Path(spec.source_path), "search_space")
        state = {"name": name, "sweep_id": sweep_id, "folder": folder,
                 "spec_raw": spec.raw, "spec_path": spec.source_path,
                 "tracking_uri": uri, "parent_run_id": parent, "cache": cache,
                 "storage": storage}
        context = _context(spec, name=name, sweep_id=sweep_id, uri=uri, parent=parent,
                           cache_root=cache)
        tuner = _tuner(spec, context, storage, folder, reuse_workers)
        sweep_dir.write_text(STATE_FILE, json.dumps(state, indent=1))
    except BaseException:  # a failed start leaves no RUNNING parent run
        tracker.finish(parent, "FAILED")
        raise
    return _fit(tuner, spec=spec, context=context, tracker=tracker, sweep_dir=sweep_dir)


def _say_objective(spec: SweepSpec, catalog: Any) -> None:
    """Tell which targets' dev numbers the objective averages, and which stay out."""
    inside, outside = spec.objective_targets(catalog)
    print(f"Objective: mean DEV {spec.objective_metric} over {spec.objective_languages} "
          f"languages of "
          f"{', '.join(inside) or 'no target'} (test numbers are reported, never selected on)")
    for target, why in outside.items():
        print(f"  {target} stays out of the objective: {why}")


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


def resume_sweep(name_or_path: str, storage: str = "runs", address: str | None = None
                 ) -> dict[str, Any]:
    """Continue an interrupted sweep: unfinished and errored trials run again."""
    from ray import tune

    sweep_dir = find_sweep(name_or_path, storage)
    state = json.loads(sweep_dir.read_text(STATE_FILE))
    spec = parse_spec(state["spec_raw"], load_catalog(), state["name"])
    spec.source_path = state["spec_path"]
    if not tune.Tuner.can_restore(sweep_dir.location):
        raise SweeperError(f"{sweep_dir.location} holds no Ray Tune experiment state to "
                           "resume")
    preflight.check_tracking(state["tracking_uri"])
    preflight.check_address(address)
    init_ray(address)
    preflight.check_gpus(spec, address)
    tracker = tracking.Tracker(state["tracking_uri"], state["name"])
    sweep_id = state.get("sweep_id", state["name"])
    tracker.start(name=state["name"], key=f"{sweep_id}:sweep", tags={})
    context = _context(spec, name=state["name"], sweep_id=sweep_id,
                       uri=state["tracking_uri"], parent=state["parent_run_id"],
                       cache_root=state["cache"])
    try:
        tuner = tune.Tuner.restore(sweep_dir.location, trainable=_trainable(context, spec),
                                   resume_unfinished=True, resume_errored=True)
    except BaseException:  # a failed start leaves no RUNNING parent run
        tracker.finish(state["parent_run_id"], "KILLED")
        raise
    return _fit(tuner, spec=spec, context=context, tracker=tracker, sweep_dir=sweep_dir)


def _fit(tuner: Any, *, spec: SweepSpec, context: SweepContext, tracker: tracking.Tracker,
         sweep_dir: SweepFolder) -> dict[str, Any]:
    started = time.time()
    results = tuner.fit()
    summary = summarize(results, spec, time.time() - started)
    summary.update(tracking_uri=context.tracking_uri, experiment_id=tracker.experiment_id,
                   parent_run_id=context.parent_run_id, sweep=context.name)
    text = json.dumps(summary, indent=1)
    sweep_dir.write_text("summary.json", text)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "summary.json").write_text(text)
        tracker.log_artifacts(context.parent_run_id, Path(tmp) / "summary.json")
    tracker.log_metrics(context.parent_run_id, {
        "best_objective": summary["best"][0]["objective"] if summary["best"] else float("nan"),
        "trials_finished": summary["finished"], "trials_errored": summary["errored"],
        "intermediate_trained": summary["intermediate_trained"],
        "intermediate_from_cache": summary["intermediate_from_cache"],
        "wall_seconds": summary["wall_seconds"], "trial_seconds": summary["trial_seconds"]})
    status = ("KILLED" if summary["unfinished"] else "FAILED" if summary["errored"]
              else "FINISHED")
    tracker.finish(context.parent_run_id, status)
    return summary
