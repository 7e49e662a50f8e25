"""A sweep from start to end, on the driver: `run_sweep` starts one
(sweeper.runner.resume continues an interrupted one).

Before Ray starts or a run opens, everything that can fail fast is checked (storage,
tracking store, Ray address, model, data, GPUs). The driver then finds the facts every
trial resolves against once (model identity and shape, tokenizer, data versions), opens
the sweep's parent run, and runs the Tuner (sweeper.runner.tune). Without an address Ray
starts locally, bound to 127.0.0.1 only; with `--address` (auto or HOST:PORT) the sweep
joins an existing cluster, as `ray job submit` does.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper import tracking
from sweeper.atomic import no_space
from sweeper.catalog import Catalog, load_catalog
from sweeper.errors import ConfigError, SweeperError, one_line
from sweeper.names import safe_name
from sweeper.runner import preflight, trust
from sweeper.runner.ray_env import init_ray
from sweeper.runner.storage import SweepFolder, is_uri
from sweeper.runner.summary import summarize
from sweeper.runner.trainable import SweepContext
from sweeper.runner.tune import make_tuner
from sweeper.space.space import Resolver
from sweeper.space.spec import SweepSpec, load_spec

STATE_FILE = "sweeper.json"


@dataclass
class Where:
    """Where a sweep keeps its things."""

    name: str
    folder: str  # under the storage: the name, or NAME-<id> for a second sweep of a name
    storage: str  # a folder (absolute) or a URI
    uri: str  # tracking store
    cache: str  # stage cache


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def space_tasks(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """Every task a trial of the space can read."""
    from sweeper.trial.resolved import involved_tasks

    pool = [t for tasks in spec.pool.values() for t in tasks] + \
        [t for s in spec.fixed_sets for t in s]
    settings = spec.base_settings().replace(intermediate=list(dict.fromkeys(pool)))
    return involved_tasks(settings, catalog)


def facts_for(spec: SweepSpec, catalog: Catalog):
    """The facts every trial resolves against, found once here: trials compute on a GPU
    where the space gives them one."""
    from sweeper.trial.environment import open_environment

    device = "cuda" if spec.resources.get("gpu", 0) else "cpu"
    return open_environment(spec.base_settings(), catalog, tasks=space_tasks(spec, catalog),
                            device=device).facts


def _where(spec: SweepSpec, *, name: str | None, storage: str, tracking_uri: str | None,
           address: str | None, cache: str | None, new: bool, sweep_id: str) -> Where:
    name = safe_name(name, "--name: sweep") if name else spec.name
    folder = f"{name}-{sweep_id[:6]}" if new else name
    remote = is_uri(storage)
    storage = storage if remote else str(Path(storage).resolve())
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
        cache = str(Path(SweepFolder(storage, folder).location) / "stage_cache")
    if not remote:  # what is checked without reaching a remote storage comes first
        preflight.check_storage(storage)
    if SweepFolder(storage, folder).exists(STATE_FILE):
        raise ConfigError(f"sweep '{name}' already exists in {storage}: continue it with "
                          f"`sweeper resume {name}`, or start another with --new")
    return Where(name, folder, storage, uri, cache)


def _preflight(spec: SweepSpec, catalog: Catalog, where: Where, address: str | None,
               new: bool) -> None:
    """Checked before Ray starts or any run is opened: each fails in seconds, one line."""
    preflight.check_storage(where.storage)
    preflight.check_tracking(where.uri)
    path = tracking.sqlite_path(where.uri)
    if path is None or path.is_file():  # asking must not create a sqlite store
        if tracking.sweep_parents(tracking.open_store(where.uri), where.name) and not new:
            raise ConfigError(f"a sweep called '{where.name}' is already in the tracking "
                              f"store ({where.uri}): continue it with `sweeper resume "
                              f"{where.name}`, or start another with --new")
    preflight.check_address(address)
    preflight.check_model(spec.model)
    preflight.check_data(spec, catalog)
    if address is None:
        preflight.check_gpus(spec, None)
    for line in preflight.data_caveats(spec, catalog) + preflight.design_warnings(spec, catalog):
        print(f"warning: {line}", file=sys.stderr)


def run_sweep(space_file: str, *, name: str | None = None, storage: str = "runs",
              tracking_uri: str | None = None, address: str | None = None,
              overrides: list[str] | None = None, cache: str | None = None,
              new: bool = False, reuse_workers: bool = True) -> dict[str, Any]:
    """Validate the space, open the parent run, run every trial; the summary. A sweep
    gets an id apart from its name; a name already used refuses unless `new` (another
    sweep under the same name, in its own folder `NAME-<id>`). `reuse_workers` False
    starts a fresh Ray worker per trial (the baseline of bench/sweep_overhead.py)."""
    catalog = load_catalog()
    spec = load_spec(space_file, catalog, overrides)
    sweep_id = uuid.uuid4().hex[:12]
    where = _where(spec, name=name, storage=storage, tracking_uri=tracking_uri,
                   address=address, cache=cache, new=new, sweep_id=sweep_id)
    _preflight(spec, catalog, where, address, new)
    say_objective(spec, catalog)
    facts = facts_for(spec, catalog)
    init_ray(address)
    if address is not None:
        preflight.check_gpus(spec, address)
    tracker = tracking.Tracker(tracking.open_store(where.uri), where.name,
                               tracking.artifact_root(where.uri, where.storage,
                                                      is_uri(where.storage)))
    parent = _open_parent(tracker, spec, where, sweep_id)
    sweep_dir = SweepFolder(where.storage, where.folder)
    try:
        _prior(spec, catalog, tracker, parent, sweep_dir)
        context = _context(spec, catalog, where, sweep_id, parent)
        tuner = make_tuner(spec, context, Resolver(spec, facts, _threads(spec)),
                           storage=where.storage, folder=where.folder,
                           location=sweep_dir.location, reuse_workers=reuse_workers)
        state = {"name": where.name, "sweep_id": sweep_id, "folder": where.folder,
                 "spec_raw": spec.raw, "spec_path": spec.source_path,
                 "tracking_uri": where.uri, "parent_run_id": parent, "cache": where.cache,
                 "storage": where.storage}
        sweep_dir.write_text(STATE_FILE, json.dumps(state, indent=1))
    except BaseException:  # a failed start leaves no RUNNING parent run
        tracker.finish(parent, "FAILED")
        raise
    return _fit(tuner, spec=spec, context=context, tracker=tracker, sweep_dir=sweep_dir)


def _prior(spec: SweepSpec, catalog: Catalog, tracker: tracking.Tracker, parent: str,
           sweep_dir: SweepFolder) -> None:
    """`search.prior` / `search.order: rank`: the pool ranked before any trial, logged
    with the sweep (its folder and the parent run's `ranking/`), kept in the spec."""
    if "rank" not in (spec.prior, spec.order):
        return
    from sweeper.rank.prior import sweep_ranking
    from sweeper.trial.settings import cache_root

    ranking = sweep_ranking(spec, catalog, cache_root(spec.base_settings().runtime))
    spec.ranking = ranking["scores"]
    _keep(sweep_dir, tracker, parent, "ranking.json", ranking, folder="ranking")
    tracker.set_tags(parent, {"sweeper.prior": "rank"})
    top = ", ".join(list(spec.ranking)[:5])
    print(f"Ranked the pool before training (sweeper rank): {top}, ...; "
          f"{'Optuna starts from it' if spec.prior == 'rank' else 'best-predicted sets first'}")


def _keep(sweep_dir: SweepFolder, tracker: tracking.Tracker, parent: str, name: str,
          data: dict[str, Any], folder: str | None = None) -> None:
    """A file of the sweep's, as JSON: in its folder and among the parent's artifacts."""
    text = json.dumps(data, indent=1)
    sweep_dir.write_text(name, text)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_text(text)
        tracker.log_artifacts(parent, Path(tmp) / name, folder)


def planned_trials(spec: SweepSpec) -> int:
    """How many trials a grid asks for (every point); 0 for a search, which may end
    early when it converges (sweeper.runner.repeats)."""
    from sweeper.space.space import grid

    return len(grid(spec)) if spec.algorithm == "grid" else 0


def _threads(spec: SweepSpec) -> int:
    return max(1, int(spec.resources["cpu"]))


def _open_parent(tracker: tracking.Tracker, spec: SweepSpec, where: Where, sweep_id: str
                 ) -> str:
    parent = tracker.start(name=where.name, key=f"{sweep_id}:sweep", tags={
        tracking.ROLE_TAG: "sweep", tracking.SWEEP_ID_TAG: sweep_id,
        tracking.FOLDER_TAG: where.folder, "model": spec.model, "data_source": spec.data,
        "synthetic": str(spec.data == "sample").lower(), "git_revision": git_revision()})
    try:
        tracker.log_params(parent, {"space_file": Path(spec.source_path).name,
                                    "targets": ",".join(spec.targets),
                                    "algorithm": spec.algorithm,
                                    "num_samples": spec.num_samples, "seeds": spec.seeds,
                                    "objective_languages": spec.objective_languages,
                                    "objective_metric": spec.objective_metric,
                                    "selection": spec.selection})
        tracker.log_artifacts(parent, Path(spec.source_path), "search_space")
    except BaseException:
        tracker.finish(parent, "FAILED")
        raise
    return parent


def _context(spec: SweepSpec, catalog: Catalog, where: Where, sweep_id: str, parent: str
             ) -> SweepContext:
    return SweepContext(name=where.name, sweep_id=sweep_id, tracking_uri=where.uri,
                        experiment=where.name, parent_run_id=parent, cache_root=where.cache,
                        objective_languages=tuple(catalog.expand_languages(
                            [spec.objective_languages])),
                        objective_metric=spec.objective_metric, selection=spec.selection)


def say_objective(spec: SweepSpec, catalog: Catalog) -> None:
    """Tell which targets' dev numbers the objective averages, and which stay out."""
    inside, outside = spec.objective_targets(catalog)
    where = ("ENGLISH dev sets (strict zero-shot, selection: english_dev)"
             if spec.selection == "english_dev" else
             f"dev sets in {spec.objective_languages} languages (the oracle, selection: "
             "target_dev)")
    print(f"Objective: mean {spec.objective_metric} on the {where} of "
          f"{', '.join(inside) or 'no target'}; the other protocol is logged beside it, "
          "test numbers are reported, never selected on")
    for target, why in outside.items():
        print(f"  {target} stays out of the objective: {why}")


def _stop(tracker: tracking.Tracker, context: SweepContext, message: str) -> None:
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


def _fit(tuner: Any, *, spec: SweepSpec, context: SweepContext, tracker: tracking.Tracker,
         sweep_dir: SweepFolder) -> dict[str, Any]:
    from sweeper.runner import tune as sweep_tune

    started = time.time()
    sweep_tune.FATAL_SEEN.clear()
    try:
        results = tuner.fit()
    except OSError as exc:  # Tune's own state files on a full disk
        _stop(tracker, context, str(no_space(sweep_dir.location)) if exc.errno in (
            errno.ENOSPC, errno.EDQUOT) else one_line(exc))
        raise (no_space(sweep_dir.location) if exc.errno in (errno.ENOSPC, errno.EDQUOT)
               else exc) from None
    trust.record_now(sweep_dir.location, tracker, context.parent_run_id,
                     tracker.run(context.parent_run_id).tags)
    if sweep_tune.FATAL_SEEN:
        message = sweep_tune.FATAL_SEEN["message"]
        _stop(tracker, context, message)
        raise SweeperError(f"{message} (the sweep stopped, nothing retried: fix it, then "
                           f"`sweeper resume {context.name}`)")
    summary = summarize(results, spec, time.time() - started, planned_trials(spec))
    summary.update(tracking_uri=context.tracking_uri, experiment_id=tracker.experiment_id,
                   parent_run_id=context.parent_run_id, sweep=context.name)
    _keep(sweep_dir, tracker, context.parent_run_id, "summary.json", summary)
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

