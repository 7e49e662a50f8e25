"""Helpers for the sweep tests: small sweeps, MLflow inspection, loopback checks."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from conftest import ROOT

# Small enough for CI on 2 cores, still every stage of every trial.
FAST = ["--set", "hyperparameters.max_train_examples=120",
        "--set", "hyperparameters.max_eval_examples=40",
        "--set", "eval_languages=[en,sw,hi,de]"]
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def tiny_space(path: Path, **overrides) -> Path:
    """A 1-target sweep space file (fixed task sets) for the fault-tolerance tests."""
    import yaml

    raw = {"name": path.stem, "model": "tiny", "data": "sample", "targets": ["xnli", "tatoeba"],
           "eval_languages": ["en", "sw", "hi", "de"],
           "objective": {"languages": "low_resource"},
           "intermediate": {"sets": [["sst2"]]},
           "hyperparameters": {"max_train_examples": 120, "max_eval_examples": 30,
                               "intermediate_epochs": 1},
           "search": {"algorithm": "grid", "max_concurrent": 1},
           "resources": {"cpu": 1, "gpu": 0}}
    raw.update(overrides)
    if raw["resources"].get("gpu"):  # pretend GPUs (a fake cluster): trials compute on CPUs
        raw["hyperparameters"] = {**raw["hyperparameters"], "device": "cpu"}
    path.write_text(yaml.safe_dump(raw))
    return path


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sweeper.cli", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


class ListenWatch(threading.Thread):
    """Records every listening TCP address of a process tree while it runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = pid
        self.seen: set[tuple[str, str]] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [psutil.Process(self.root)] + psutil.Process(self.root).children(True)
            except psutil.Error:
                return
            for p in procs:
                try:
                    for c in p.net_connections(kind="tcp"):
                        if c.status == psutil.CONN_LISTEN:
                            self.seen.add((p.name(), c.laddr.ip))
                except psutil.Error:
                    pass
            time.sleep(0.5)

    def wide(self) -> set[tuple[str, str]]:
        return {(name, ip) for name, ip in self.seen if ip not in LOOPBACK}


def mlflow_runs(uri: str, experiment: str, role: str = "trial") -> tuple[object, list]:
    """(parent run, child runs of `role`: trial, or the sweep's baseline runs)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweeper.role") == "sweep"]
    assert len(parents) == 1, [r.info.run_name for r in runs]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == len(runs) - 1
    return parents[0], [r for r in children if r.data.tags.get("sweeper.role", "trial") == role]


def kill_tree(proc: subprocess.Popen) -> None:
    """Stop a process we started, and its children, by PID."""
    try:
        parent = psutil.Process(proc.pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


_GIVEN: set[int] = set()  # ports this process handed out: never twice


def free_port() -> int:
    """A port free on 127.0.0.1 now, below the kernel's ephemeral range, and not handed
    out by this process before: a port the kernel hands out (bind to 0, every outgoing
    connection, Ray's gRPC servers) could be taken by another process in the seconds
    before a server started here binds it (a tracking server once met a Ray node's gRPC
    on its port); and the ports drawn together for one server, none bound yet, once came
    out the same twice (a Ray head refused to start)."""
    import random
    import socket

    low, draw = _ephemeral_low(), random.SystemRandom()
    for _ in range(200):
        port = draw.randrange(20000, low) if low > 21000 else 0
        if port in _GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = sock.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; else 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class Postgres:
    """A real PostgreSQL server on 127.0.0.1 (the binaries of the `pgserver` wheel), in a
    folder of its own; as root it runs as the system user `pgserver` (PostgreSQL refuses
    root). `stop()` stops it and removes its folder."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        from pgserver._commands import POSTGRES_BIN_PATH

        self.bin, self.user = Path(POSTGRES_BIN_PATH), None
        self.folder = Path(tempfile.mkdtemp(prefix="sweeper-pg-"))
        if os.geteuid() == 0:
            from pgserver.utils import ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            shutil.chown(self.folder, self.user)
            # the binaries where that user can reach them (a checkout may sit in a folder
            # only root may enter, as `mktemp -d` makes)
            # (the binaries find their libraries at $ORIGIN/../../../pgserver.libs)
            package = self.bin.parent.parent
            for part in ("pgserver/pginstall", "pgserver.libs"):
                shutil.copytree(package.parent / part, self.folder / "pg" / part, symlinks=True)
            self.bin = self.folder / "pg" / "pgserver" / "pginstall" / "bin"
        self.data, self.port = self.folder / "data", free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "log"), "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.folder}", "start")

    def _run(self, exe: str, *args: str) -> str:
        return subprocess.run([str(self.bin / exe), *args], user=self.user, check=True,
                              capture_output=True, text=True, cwd=self.folder).stdout

    def create(self, database: str) -> str:
        """A new database; its SQLAlchemy URI."""
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                  f"CREATE DATABASE {database}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        import shutil

        try:
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def wait_healthy(url: str, tries: int = 240) -> bool:
    """Whether a tracking server at `url` answered its /health within `tries` half-seconds."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return True
        except (OSError, http.client.HTTPException):  # (not up yet, or not it)
            time.sleep(0.5)
    return False


# MLflow's server starts a job runner by default (Huey consumers, eight Python processes,
# about 25 s of CPU at each start) for server-side jobs the sweeper never submits: off,
# as on the cluster's tracking server (scripts/cluster/tracking_server.sh)
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def serve_mlflow_with_auth(tmp_path: Path, pg: Postgres) -> tuple[psutil.Popen, str, dict]:
    """`mlflow server --app-name basic-auth` on 127.0.0.1, runs and users in PostgreSQL,
    artifacts in a folder: the cluster's tracking store (cluster.yaml) in miniature.
    Returns the server, its URL and the credentials' environment."""
    import secrets

    password = secrets.token_urlsafe(16)
    ini = tmp_path / "basic_auth.ini"
    ini.write_text("[mlflow]\ndefault_permission = READ\n"
                   f"database_uri = {pg.create('mlflow_auth')}\nadmin_username = admin\n"
                   f"admin_password = {password}\n"
                   "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                   # a password check (PBKDF2) per request is costly: cached, as clusters run it
                   "auth_cache_ttl_seconds = 300\n")
    port = free_port()
    server = psutil.Popen([sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
                           "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                           "--backend-store-uri", pg.create("mlflow"),
                           "--artifacts-destination", str(tmp_path / "artifacts")],
                          env={**os.environ, **SERVER_ENV, "MLFLOW_AUTH_CONFIG_PATH": str(ini),
                               "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)},
                          start_new_session=True, stdout=open(tmp_path / "server.log", "w"),
                          stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    return server, url, {"MLFLOW_TRACKING_USERNAME": "admin",
                         "MLFLOW_TRACKING_PASSWORD": password}


def s3_requests(log: Path) -> int:
    """Requests an S3 server that `serve_s3` started has answered so far (a line each in
    its log, `moto.log` in the folder it was given)."""
    with open(log, errors="replace") as lines:
        return sum(' HTTP/1.1" ' in line for line in lines)


def serve_s3(tmp_path: Path) -> tuple[psutil.Popen, dict[str, str]]:
    """An S3-compatible server (moto) on 127.0.0.1 with a bucket `sweeps`."""
    import boto3

    port = free_port()
    server = psutil.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                           str(port)], start_new_session=True,
                          stdout=open(tmp_path / "moto.log", "w"), stderr=-2)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    for _ in range(100):
        try:
            boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                         aws_access_key_id="testing",
                         aws_secret_access_key="testing").create_bucket(Bucket="sweeps")
            return server, env
        except Exception:
            time.sleep(0.3)
    kill_tree(server)
    raise RuntimeError(f"moto did not start: see {tmp_path / 'moto.log'}")
