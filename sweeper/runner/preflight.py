"""What a sweep checks before Ray starts or a run is opened, each with a short timeout
and a one-line error naming the culprit: storage writable, tracking store reachable,
the Ray address listening, model and data present for every task, split and language
the space can ask for, GPUs where the space asks for them."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from sweeper.catalog import Catalog
from sweeper.errors import ConfigError, one_line
from sweeper.model.offline import is_offline
from sweeper.paths import check_writable_dir
from sweeper.space.spec import SweepSpec
from sweeper.trial.jobs import required_data

TIMEOUT_S = 5.0


def check_storage(storage: str) -> None:
    if "://" not in storage:
        check_writable_dir(storage, "--storage")
        return
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(storage)
        fs.create_dir(path, recursive=True)
    except Exception as exc:
        raise ConfigError(f"--storage {storage} is not usable: "
                          f"{one_line(exc, 200)}") from None


def check_tracking(uri: str) -> None:
    """An http(s) server answers /health within the timeout; a sqlite file can be made."""
    if uri.startswith(("http://", "https://")):
        try:
            urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=TIMEOUT_S)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConfigError(f"MLflow tracking at {uri} does not answer ({reason})") from None
        check_credentials(uri)
    elif uri.startswith("sqlite:///"):
        check_writable_dir(Path(uri[len("sqlite:///"):]).parent, "MLflow store folder")


def check_credentials(uri: str) -> None:
    """A server with authentication (MLflow's basic-auth app) accepts the credentials in
    MLFLOW_TRACKING_USERNAME / _PASSWORD (or _TOKEN): else every trial would fail."""
    import base64

    request = urllib.request.Request(
        f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1")
    user, password = (os.environ.get(f"MLFLOW_TRACKING_{k}") for k in ("USERNAME", "PASSWORD"))
    if token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
        request.add_header("Authorization", f"Bearer {token}")
    elif user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            given = "the credentials given were refused" if user or os.environ.get(
                "MLFLOW_TRACKING_TOKEN") else "none were given"
            raise ConfigError(f"MLflow tracking at {uri} asks for credentials and {given} "
                              "(set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
                              ) from None
    except (urllib.error.URLError, OSError):
        pass  # it answered /health: the trials' own calls will say what is wrong


def check_address(address: str | None) -> None:
    """HOST:PORT (or ray://HOST:PORT) accepts a connection within the timeout."""
    if address in (None, "auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address '{address}' is not auto or HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(f"nothing answers at --address {address} ({exc.strerror or exc})") \
            from None


def check_model(model: str) -> None:
    """tiny or small (offline shapes); a local folder with a config; or a hub id this
    machine can load."""
    if is_offline(model):
        return
    path = Path(model)
    if path.exists():
        if not (path / "config.json").is_file():
            raise ConfigError(f"model folder {path} has no config.json")
        return
    try:
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.constants import HF_HUB_OFFLINE
    except ImportError:  # pragma: no cover - a dependency of transformers
        return
    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return
    advice = ("use --model tiny (offline), a local model folder, or fetch the model on a "
              "machine with hub access")
    if HF_HUB_OFFLINE:
        raise ConfigError(f"model '{model}' is not in the local hub cache and the hub is "
                          f"offline (HF_HUB_OFFLINE): {advice}")
    from huggingface_hub.constants import ENDPOINT

    host = urllib.parse.urlparse(ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=TIMEOUT_S):
            pass
    except OSError:
        raise ConfigError(f"model '{model}' is not in the local hub cache and {host} cannot "
                          f"be reached: {advice}") from None


def check_data(spec: SweepSpec, catalog: Catalog) -> None:
    """Every (task, language, split) the space can ask for exists in its source (the
    trial's own check, over every task the space can draw). Creates nothing."""
    from sweeper.data.sources import check_available

    pool = sorted({t for tasks in spec.pool.values() for t in tasks}
                  | {t for s in spec.fixed_sets for t in s})
    settings = spec.base_settings()
    check_bucc_source(spec, catalog)
    check_available(required_data(settings, catalog, pool), data=settings.data,
                    local=settings.common.local_data, catalog=catalog)


def gold_only_bucc(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """BUCC targets read from the hub, whose bucc18 configs hold gold pairs only: mined
    over those, their F1 is far above XTREME's (no distractor sentences)."""
    settings = spec.base_settings()
    return [t for t in spec.targets if catalog.task(t).metric == "bucc_f1"
            and settings.data == "hub" and t not in settings.common.local_data]


def check_bucc_source(spec: SweepSpec, catalog: Catalog) -> None:
    """A space that would mine BUCC over gold pairs only is refused unless it says
    `allow_gold_only_bucc: true` (its numbers are then reported as not comparable)."""
    gold = gold_only_bucc(spec, catalog)
    if gold and not spec.allow_gold_only_bucc:
        t = gold[0]
        raise ConfigError(f"{spec.source_path or spec.name}: {t} from the hub holds gold pairs "
                          f"only (not comparable with XTREME): import the BUCC 2018 release "
                          f"(`sweeper data import {t} --from DIR --out DATA`, then local: "
                          f"{{{t}: DATA}}) or set allow_gold_only_bucc: true")


def data_caveats(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """What will run but differ from the published protocol (allowed by the space)."""
    return [f"{t} from the hub: gold pairs only, its numbers will be reported as not "
            "comparable with XTREME (allow_gold_only_bucc: true)"
            for t in gold_only_bucc(spec, catalog)]


def design_warnings(spec: SweepSpec, catalog: Catalog) -> list[str]:
    """What will run but weaken the answer: a scheduler under scaling curves (the curves
    rest on the trials it kept), sets too small for their
    share of the data budget, and budgets the pass limit cuts short (from the catalog's
    train sizes: hub data)."""
    out = []
    curves = bool(spec.chains) or any(len([c for c in cs if c]) >= 2
                                      for cs in spec.counts.values())
    if spec.scheduler and curves:
        out.append("a scheduler stops trials early: the scaling curves then rest on the "
                   "trials it kept (the report counts the stopped ones per point); draw "
                   "curves without one")
    if spec.algorithm != "grid":
        return out
    from sweeper.space.params import task_list
    from sweeper.space.space import grid, params_to_settings

    short = over = total = 0
    for point in grid(spec):
        tasks = task_list(point)
        settings = params_to_settings(spec, point)
        phase = settings.intermediate
        sizes = [catalog.task(t).train_size for t in tasks]
        if not tasks or settings.data != "hub" or None in sizes:
            continue
        total += 1
        share = phase.examples_total // len(tasks) if phase.examples_total else \
            phase.examples_cap
        held = [min(n, share) if share else n for n in sizes]
        short += bool(share and min(sizes) < share)
        passes = (phase.steps * settings.training.batch_size / sum(held) if phase.steps
                  else phase.epochs)  # per task, under proportional sampling
        over += bool(phase.max_passes and passes > phase.max_passes)
    if short:
        out.append(f"{short} of {total} trials hold a task with fewer training examples than "
                   "its share of the budget: they train on less data (logged as "
                   "distinct_examples; the report adjusts for it)")
    if over:
        out.append(f"{over} of {total} trials would pass over their data more often than "
                   "max_passes allows: the pass limit cuts them short (logged)")
    return out


def check_ladder_design(spec: SweepSpec) -> None:
    """A fidelity ladder runs over a grid's sets (rung by rung: sweeper.search.ladder),
    each trial to its end: a scheduler's early stops would promote on partial objectives."""
    if spec.fidelity is None:
        return
    if spec.algorithm != "grid":
        raise ConfigError(f"space '{spec.name}': a fidelity ladder runs on grid designs "
                          f"(search.algorithm: grid), not {spec.algorithm}")
    if spec.scheduler:
        raise ConfigError(f"space '{spec.name}': a fidelity ladder promotes on whole trials; "
                          "drop search.scheduler (the ladder is the early stop)")


def check_gpus(spec: SweepSpec, address: str | None) -> None:
    """A space that asks for GPUs on a machine (or cluster) that has none fails now."""
    need = spec.resources.get("gpu", 0)
    if not need:
        return
    if address is None:
        import torch

        have = torch.cuda.device_count()
    else:
        import ray

        have = ray.cluster_resources().get("GPU", 0)
    if have < need:
        where = "this machine" if address is None else f"the cluster at {address}"
        raise ConfigError(f"the space asks for {need:g} GPU per trial but {where} has "
                          f"{have:g} (set resources: {{gpu: 0}} for CPU trials)")

