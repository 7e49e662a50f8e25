"""Helpers for the sweep tests: small sweeps, MLflow inspection, loopback checks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
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
