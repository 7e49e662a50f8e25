"""Cluster runs on one machine: several Ray nodes with fake GPUs, and `ray job submit`."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import ROOT
from sweeps import ListenWatch, kill_tree, mlflow_runs, tiny_space

pytestmark = pytest.mark.slow

CLUSTER_SCRIPT = """
import json, sys
import ray
from ray.cluster_utils import Cluster
from sweeper.sweep.tune import run_sweep

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
workers = [cluster.add_node(num_cpus=1, num_gpus=1) for _ in range(2)]
cluster.wait_for_nodes()
try:
    summary = run_sweep(sys.argv[1], storage=sys.argv[2], address=cluster.address,
                        tracking_uri="sqlite:///" + sys.argv[2] + "/mlflow.db")
    summary["worker_nodes"] = [w.node_id for w in workers]
    print("SUMMARY " + json.dumps(summary))
finally:
    ray.shutdown()
    cluster.shutdown()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_trials_spread_over_gpu_worker_nodes(tmp_path):
    space = tiny_space(tmp_path / "multinode.yaml", targets=["xnli"],
                       intermediate={"sets": [[], ["sst2"]]},
                       search={"algorithm": "grid", "max_concurrent": 2},
                       resources={"cpu": 1, "gpu": 1})
    proc = psutil.Popen([sys.executable, "-c", CLUSTER_SCRIPT, str(space), str(tmp_path / "runs")],
                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        start_new_session=True)
    watch = ListenWatch(proc.pid)
    watch.start()
    try:
        out, _ = proc.communicate(timeout=480)
    finally:
        watch.stop.set()
        kill_tree(proc)
    line = [x for x in out.splitlines() if x.startswith("SUMMARY ")]
    assert proc.returncode == 0 and line, out[-4000:]
    summary = json.loads(line[0][len("SUMMARY "):])
    assert summary["finished"] == 2
    # one (fake) GPU per trial: each ran on its own GPU worker node, none on the head
    assert sorted(summary["nodes"]) == sorted(summary["worker_nodes"])
    assert not watch.wide(), watch.wide()


def test_ray_job_submit_to_a_local_head(tmp_path):
    port, dash = _free_port(), _free_port()
    token = tmp_path / "auth_token"  # Ray's dashboard asks clients for the cluster token
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN_PATH": str(token)}
    bin_dir = Path(sys.executable).parent
    head = psutil.Popen([str(bin_dir / "ray"), "start", "--head", "--block", f"--port={port}",
                         "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
                         f"--dashboard-port={dash}", "--include-dashboard=true", "--num-cpus=2",
                         f"--temp-dir={tempfile.mkdtemp(prefix='rj', dir='/tmp')}"],
                        env=env, stdout=open(tmp_path / "head.log", "w"),
                        stderr=subprocess.STDOUT, start_new_session=True)
    watch = ListenWatch(head.pid)
    watch.start()
    try:
        url = f"http://127.0.0.1:{dash}"
        for _ in range(180):
            assert head.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{url}/api/version", timeout=2)
                break
            except urllib.error.HTTPError:  # answered (401 without the token): it is up
                break
            except OSError:
                time.sleep(0.5)
        space = tiny_space(tmp_path / "submitted.yaml")
        storage = tmp_path / "runs"
        done = subprocess.run(
            [str(bin_dir / "ray"), "job", "submit", "--address", url, "--working-dir", str(ROOT),
             "--", sys.executable, "-m", "sweeper.cli", "run", str(space), "--storage",
             str(storage), "--address", "auto",
             # one machine: a sqlite file, asked for explicitly (a cluster needs a server)
             "--tracking-uri", f"sqlite:///{storage / 'mlflow.db'}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
        assert done.returncode == 0 and "succeeded" in done.stdout, (done.stdout[-4000:],
                                                                     done.stderr[-2000:])
        assert "Intermediate trainings: 1 run" in done.stdout
        _, children = mlflow_runs(f"sqlite:///{storage / 'mlflow.db'}", "submitted")
        assert len(children) == 1 and children[0].info.status == "FINISHED"
    finally:
        watch.stop.set()
        kill_tree(head)
    assert watch.seen and not watch.wide(), watch.wide()
