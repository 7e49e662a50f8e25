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

import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from sweeper import tracking
from sweeper.catalog import Catalog, load_catalog
from sweeper.errors import ConfigError
from sweeper.names import safe_name
from sweeper.runner import preflight
from sweeper.runner.context import STATE_FILE, Where, sweep_context
from sweeper.runner.finish import fit_sweep, keep
from sweeper.runner.ray_env import init_ray
from sweeper.runner.stop import StopSignal
from sweeper.runner.tune import make_tuner
from sweeper.space.space import Resolver
from sweeper.space.spec import SweepSpec, load_spec
from sweeper.storage import SweepFolder, is_uri


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def space_tasks(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """Every task a trial of the space can read."""
    from sweeper.trial.resolve import involved_tasks

    pool = [t for tasks in spec.pool.values() for t in tasks] + \
        [t for s in spec.fixed_sets for t in s]
    settings = spec.base_settings().replace(intermediate=list(dict.fromkeys(pool)))
    return involved_tasks(settings, catalog)


def rung_models(spec: SweepSpec) -> list[str]:
    """The encoders a sweep's trials use: the space's, or each fidelity rung's."""
    return list(dict.fromkeys(r.model for r in spec.fidelity.rungs)) if spec.fidelity \
        else [spec.model]


def facts_for(spec: SweepSpec, catalog: Catalog):
    """The facts every trial resolves against, found once here (one per encoder where
    fidelity rungs change it): trials compute on a GPU where the space gives them one."""
    from sweeper.trial.environment import open_environment

    device = "cuda" if spec.resources.get("gpu", 0) else "cpu"
    tasks = space_tasks(spec, catalog)
    facts = {m: open_environment(spec.base_settings().replace(model=m), catalog, tasks=tasks,
                                 device=device).facts for m in rung_models(spec)}
    return facts if spec.fidelity else facts[spec.model]


def _where(spec: SweepSpec, *, name: str | None, storage: str, tracking_uri: str | None,
           address: str | None, cache: str | None, new: bool, sweep_id: str) -> Where:
    name = safe_name(name, "--name: sweep") if name else spec.name
    folder = f"{name}-{sweep_id[:6]}" if new else name
    remote = is_uri(storage)
    storage = storage if remote else str(Path(storage).resolve())
    uri = tracking.given_uri(tracking_uri)
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
    for model in rung_models(spec):
        preflight.check_model(model)
    preflight.check_ladder_design(spec)
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
    tracker = tracking.Tracker(tracking.sweep_store(where.uri), where.name,
                               tracking.artifact_root(where.uri, where.storage,
                                                      is_uri(where.storage)))
    parent = _open_parent(tracker, spec, where, sweep_id)
    sweep_dir = SweepFolder(where.storage, where.folder)
    try:
        spec = _prior(spec, catalog, tracker, parent, sweep_dir)
        context = sweep_context(spec, catalog, where, sweep_id, parent)
        stop = StopSignal(sweep_id)
        tuner = make_tuner(spec, context, Resolver(spec, facts, _threads(spec)), stop,
                           sweep_dir=sweep_dir, reuse_workers=reuse_workers)
        state = {"name": where.name, "sweep_id": sweep_id, "folder": where.folder,
                 "spec_raw": spec.raw, "spec_path": spec.source_path,
                 "tracking_uri": where.uri, "parent_run_id": parent, "cache": where.cache,
                 "storage": where.storage}
        sweep_dir.write_text(STATE_FILE, json.dumps(state, indent=1))
    except BaseException:  # a failed start leaves no RUNNING parent run
        tracker.finish(parent, "FAILED")
        raise
    return fit_sweep(tuner, spec=spec, context=context, tracker=tracker, sweep_dir=sweep_dir,
                     stop=stop)


def _prior(spec: SweepSpec, catalog: Catalog, tracker: tracking.Tracker, parent: str,
           sweep_dir: SweepFolder) -> SweepSpec:
    """`search.prior` / `search.order: rank`: the pool ranked before any trial, logged
    with the sweep (its folder and the parent run's `ranking/`); the spec with it."""
    if "rank" not in (spec.prior, spec.order):
        return spec
    from sweeper.rank.prior import sweep_ranking
    from sweeper.trial.settings import cache_root

    ranking = sweep_ranking(spec, catalog, cache_root(spec.base_settings().runtime))
    spec = replace(spec, ranking=ranking["scores"])
    keep(sweep_dir, tracker, parent, "ranking.json", ranking, folder="ranking")
    tracker.set_tags(parent, {"sweeper.prior": "rank"})
    top = ", ".join(list(spec.ranking)[:5])
    print(f"Ranked the pool before training (sweeper rank): {top}, ...; "
          f"{_uses(spec)}")
    return spec


def _uses(spec: SweepSpec) -> str:
    """What the sweep does with its ranking."""
    if spec.fidelity is not None and spec.fidelity.rank is not None:
        return "its top sets reach the ladder's first rung"
    return "Optuna starts from it" if spec.prior == "rank" else "best-predicted sets first"


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
                                    "selection": spec.selection,
                                    **({"fidelity_rungs": ",".join(
                                        r.name for r in spec.fidelity.rungs)}
                                       if spec.fidelity else {})})
        tracker.log_artifacts(parent, Path(spec.source_path), "search_space")
    except BaseException:
        tracker.finish(parent, "FAILED")
        raise
    return parent


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
