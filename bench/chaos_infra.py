"""The services of a chaos run, all on 127.0.0.1: a Ray head and worker nodes started with
`ray start` (each with its own resources, ports and temp folder, so that one can be
killed and replaced as a spot instance would be), the cluster's tracking server
(PostgreSQL under MLflow's authentication app, as scripts/cluster/tracking_server.sh
runs it, stoppable and restartable on the same port), and an S3 server (moto) for the
sweep's URI storage. Shared by bench/chaos.py and its test."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sweeps import (  # noqa: E402
    SERVER_ENV,
    Postgres,
    free_port,
    kill_tree,
    s3_requests,
    serve_s3,
    wait_healthy,
)

BIN = Path(sys.executable).parent
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _started(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> psutil.Popen:
    """A process in a session of its own (stopped by its group), its output in `log`."""
    return psutil.Popen(cmd, env={**os.environ, **RAY_ENV, **(env or {})},
                        stdout=open(log, "a"), stderr=subprocess.STDOUT,
                        start_new_session=True, cwd=ROOT)


NODE_SCRIPT = """
import sys, time
import ray._private.node as node
from ray._private.parameter import RayParams
role, address, temp = sys.argv[1:4]
agent, grpc, env, dashboard = (int(x) for x in sys.argv[4:8])
head = role == "head"
params = dict(node_ip_address="127.0.0.1", num_gpus=0, object_store_memory=100_000_000,
              temp_dir=temp, dashboard_agent_listen_port=agent, metrics_agent_port=grpc,
              runtime_env_agent_port=env, min_worker_port=0, max_worker_port=0,
              node_manager_port=0, include_log_monitor=head)
if head:
    params.update(gcs_server_port=int(address.rpartition(":")[2]), num_cpus=0,
                  include_dashboard=False, dashboard_port=dashboard)
else:
    params.update(gcs_address=address, num_cpus=1, resources={"chaos_worker": 1})
node.Node(RayParams(**params), head=head, shutdown_at_exit=False, spawn_reaper=False)
print("node up", flush=True)
while True:
    time.sleep(3600)
"""


def stop_group(proc: psutil.Popen) -> None:
    """Stop a process started here and everything in its process group (-9)."""
    kill_tree(proc)
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        pass


class RayCluster:
    """A head without CPUs for trials (the driver's node, as on a cluster) and worker
    nodes with one CPU each; `kill_node` takes one away with its raylet (kill -9) and
    `add_node` brings a replacement."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.folder, self.port, self.nodes = folder, free_port(), {}
        folder.mkdir(parents=True, exist_ok=True)
        self._count, self.temps = 0, []
        self.address = f"127.0.0.1:{self.port}"
        self.head = self._start("head")
        try:
            for _ in range(workers):
                self.add_node()
            self.wait_for(workers)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str) -> psutil.Popen:
        """One Ray node in a process of its own, as `ray start` starts one, but from
        Python: `ray start --address` with Ray's single-machine switch on refuses to join,
        and with it off resolves 127.0.0.1 to the machine's outward address. Every port
        is chosen free here; the temp folder is the node's own."""
        temp = tempfile.mkdtemp(prefix="chh" if name == "head" else "chw", dir="/tmp")
        self.temps.append(temp)
        return _started([sys.executable, "-c", NODE_SCRIPT, name, self.address, temp,
                         *(str(free_port()) for _ in range(4))],
                        self.folder / f"{name}.log")

    def add_node(self) -> str:
        """A worker node with one CPU (and a `chaos_worker` resource)."""
        self._count += 1
        name = f"worker{self._count}"
        self.nodes[name] = self._start(name)
        return name

    def wait_for(self, workers: int, timeout: float = 240, tries: int = 3) -> None:
        """Until the head and `workers` worker nodes have started. A worker node that
        fails to start (on a loaded machine its registration can time out) is started
        again, up to `tries` times."""
        deadline, failed = time.time() + timeout, 0
        while time.time() < deadline:
            if self.head.poll() is not None:
                raise RuntimeError(f"the Ray head failed to start: see {self.folder}")
            for name, proc in list(self.nodes.items()):
                if proc.poll() is not None:
                    failed += 1
                    if failed >= tries:
                        raise RuntimeError(f"a Ray node failed to start: see {self.folder}")
                    stop_group(self.nodes.pop(name))
                    self.add_node()
            procs = [self.head, *self.nodes.values()]
            if sum("node up" in self._log(p) for p in procs) >= workers + 1:
                return
            time.sleep(1)
        raise RuntimeError(f"{workers} Ray worker nodes did not come up: see {self.folder}")

    def _log(self, proc: psutil.Popen) -> str:
        name = "head" if proc is self.head else next(n for n, p in self.nodes.items()
                                                     if p is proc)
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def raylet(self, name: str) -> psutil.Process | None:
        for p in self.nodes[name].children(recursive=True):
            try:
                if p.name() == "raylet" or "raylet/raylet" in " ".join(p.cmdline()[:1]):
                    return p
            except psutil.Error:
                pass
        return None

    def trial_output(self) -> list[Path]:
        """What trials printed, one file per worker process, on every node ever started
        (worker nodes run no log monitor here, to spare the CPUs: their trials' lines
        reach no driver's output)."""
        return sorted(p for temp in self.temps
                      for p in Path(temp).glob("session_latest/logs/worker-*.out"))

    def kill_node(self, name: str) -> int:
        """Node loss: its raylet killed -9 (its workers die with it); the rest of the
        node's processes are then stopped as the machine's end would stop them."""
        raylet = self.raylet(name)
        pid = raylet.pid if raylet else -1
        if raylet:
            raylet.kill()
        time.sleep(1)
        stop_group(self.nodes.pop(name))
        return pid

    def stop(self) -> None:
        for name in list(self.nodes):
            stop_group(self.nodes.pop(name))
        stop_group(self.head)
        for temp in self.temps:  # the nodes' logs and sockets
            shutil.rmtree(temp, ignore_errors=True)


class TrackingServer:
    """`mlflow server --app-name basic-auth` on 127.0.0.1, runs and users in a real
    PostgreSQL: the cluster's tracking store in miniature, which `stop` and `start`
    take down and bring back on the same port and databases."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.pg, self.port = folder, Postgres(), free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_urlsafe(16)
        self.ini = folder / "basic_auth.ini"
        self.ini.write_text(
            "[mlflow]\ndefault_permission = READ\n"
            f"database_uri = {self.pg.create('mlflow_auth')}\nadmin_username = admin\n"
            f"admin_password = {self.password}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            "auth_cache_ttl_seconds = 300\n")
        self.backend = self.pg.create("mlflow")
        self.secret = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": self.password}
        self.proc: psutil.Popen | None = None
        try:
            self.start()
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        """One server process (its handlers run on a thread pool: two trials and a driver
        are served), whose start at each restart takes the cores from the sweep least."""
        self.proc = _started([sys.executable, "-m", "mlflow", "server", "--app-name",
                              "basic-auth", "--host", "127.0.0.1", "--port", str(self.port),
                              "--workers", "1", "--backend-store-uri", self.backend,
                              "--artifacts-destination", str(self.folder / "artifacts")],
                             self.folder / "server.log",
                             {**SERVER_ENV, "MLFLOW_AUTH_CONFIG_PATH": str(self.ini),
                              "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secret})
        if wait_healthy(self.url):
            return
        raise RuntimeError(f"the tracking server did not start: {self.folder}/server.log")

    def stop(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.pg.stop()


class S3Server:
    """An S3-compatible server (moto) on 127.0.0.1 with a bucket `sweeps`, as the tests
    start one (tests/sweeps.serve_s3)."""

    def __init__(self, folder: Path) -> None:
        self.proc, self.env = serve_s3(folder)
        self.log = folder / "moto.log"

    def requests(self) -> int:
        """Requests answered so far."""
        return s3_requests(self.log)

    def stop(self) -> None:
        kill_tree(self.proc)


def mount_tmpfs(path: Path, size: str) -> bool:
    """A real small file system (root or CAP_SYS_ADMIN): False where none can be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)

