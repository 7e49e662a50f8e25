"""Cluster runs on one machine: Ray nodes with a fake GPU, and `ray job submit`."""

from __future__ import annotations

import json
import os
import secrets
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
from sweeps import ListenWatch, free_port, kill_tree, mlflow_runs, tiny_space

pytestmark = pytest.mark.slow

def test_ray_job_submit_to_a_local_head(tmp_path):
    port, dash, client, agent = (free_port() for _ in range(4))
    token = tmp_path / "auth_token"  # Ray's dashboard asks clients for the cluster token
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN_PATH": str(token)}
    bin_dir = Path(sys.executable).parent
    head = psutil.Popen([str(bin_dir / "ray"), "start", "--head", "--block", f"--port={port}",
                         "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
                         f"--dashboard-port={dash}", "--include-dashboard=true", "--num-cpus=2",
                         # not Ray's fixed defaults: another Ray may run beside this one
                         f"--ray-client-server-port={client}",
                         f"--dashboard-agent-listen-port={agent}",
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


WAIT_SCRIPT = """
import json, sys
import ray
from ray.cluster_utils import Cluster
from sweeper.runner.driver import run_sweep

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
gpu_node = cluster.add_node(num_cpus=2, num_gpus=1)  # ONE fake GPU for two trials
cluster.wait_for_nodes()
try:
    summary = run_sweep(sys.argv[1], storage=sys.argv[2], address=cluster.address,
                        tracking_uri="sqlite:///" + sys.argv[2] + "/mlflow.db",
                        cache=sys.argv[3])
    summary["gpu_node"] = gpu_node.node_id
    print("SUMMARY " + json.dumps(summary))
finally:
    ray.shutdown()
    cluster.shutdown()
"""

LOCK_HOLDER = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_trial_waiting_for_a_stage_holds_no_gpu(tmp_path, catalog):
    """Trial A needs an intermediate stage whose lock another process holds (as a trial
    building it would); trial B needs nothing of it. With one GPU, B finishes while A
    waits: A waits paused, not on the GPU. Then the holder dies without building: its
    lock is free, and A builds the stage itself."""
    from sweeper.space.space import grid, params_to_settings
    from sweeper.space.spec import load_spec
    from sweeper.trial.run import derive_keys

    space = tiny_space(tmp_path / "waits.yaml", targets=["tatoeba"],
                       eval_languages=["de", "sw"], intermediate={"sets": [["sst2"], ["qqp"]]},
                       resources={"cpu": 1, "gpu": 1}, search={"algorithm": "grid",
                                                               "max_concurrent": 2})
    spec = load_spec(space, catalog)
    first = next(p for p in grid(spec) if p["tasks"] == "sst2")
    settings = params_to_settings(spec, first)
    key = derive_keys(settings, catalog).intermediate
    cache = tmp_path / "cache"
    cache.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(cache / f"{key}.lock")],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert holder.stdout.readline().strip() == "held"
    storage = tmp_path / "runs"
    storage.mkdir()
    sweep = subprocess.Popen([sys.executable, "-c", WAIT_SCRIPT, str(space), str(storage),
                              str(cache)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        from mlflow.tracking import MlflowClient

        deadline, b_done = time.time() + 420, False
        while time.time() < deadline and not b_done and sweep.poll() is None:
            # B runs on the one GPU meanwhile. The store is read only once the sweep has
            # made it (its state file is written after its parent run): a reader opening
            # the sqlite file first would create the tables at the same time as the sweep
            time.sleep(1)
            if (storage / "waits" / "sweeper.json").exists():
                try:
                    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
                    runs = client.search_runs([e.experiment_id for e in
                                               client.search_experiments()],
                                              "attributes.status = 'FINISHED'")
                    b_done = any(r.data.params.get("tasks") == "qqp" for r in runs)
                except Exception:
                    pass
        if not b_done:  # say what the sweep did, not only that B did not finish
            kill_tree(sweep)
            out, _ = sweep.communicate(timeout=60)
            pytest.fail(f"B did not finish while A waited (sweep exit {sweep.returncode}):\n"
                        f"{out[-6000:]}")
        kill_tree(holder)  # the holder dies without building: A must build it itself
        out, _ = sweep.communicate(timeout=400)
    finally:
        kill_tree(holder)
        kill_tree(sweep)
    assert sweep.returncode == 0, out[-4000:]
    summary = json.loads([line for line in out.splitlines()
                          if line.startswith("SUMMARY ")][0][len("SUMMARY "):])
    assert summary["finished"] == 2 and summary["errored"] == 0
    assert summary["nodes"] == [summary["gpu_node"]]  # where the GPU is, never on the head
    waited = [p for p in storage.glob("waits/*/result.json") if "waiting_for" in p.read_text()]
    assert len(waited) == 1  # A reported that it waited, and was paused
    assert (cache / key / "COMPLETE").exists()
