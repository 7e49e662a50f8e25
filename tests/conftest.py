"""Shared test set-up: offline hub, loopback-only Ray, one data/feature cache per session."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("SWEEPER_CACHE", tempfile.mkdtemp(prefix="sweeper-test-cache-"))
os.environ.pop("MLFLOW_TRACKING_URI", None)
# One torch thread per process when pytest-xdist runs several workers: the workers, and the
# Ray workers and commands they start, share the cores; torch's default of a thread per
# core in each oversubscribes them, and its waiting threads spin (trials ran 3-5x slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def catalog():
    from sweeper.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def cache_root() -> Path:
    return Path(os.environ["SWEEPER_CACHE"])


class Done:
    """What a command returned: its exit code and what it printed."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600,
            env: dict | None = None, subprocess_: bool = False) -> Done:
    """The `sweeper` command: in this process through `sweeper.cli.main` (fast), or as a
    real subprocess (`subprocess_`, or when `env` must differ: a process of its own)."""
    if subprocess_ or env:
        done = subprocess.run([sys.executable, "-m", "sweeper.cli", *args], capture_output=True,
                              text=True, cwd=cwd or ROOT, timeout=timeout,
                              env={**os.environ, **(env or {})})
        return Done(done.returncode, done.stdout, done.stderr)
    from sweeper.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's --help / --version / usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(before)
    return Done(code, out.getvalue(), err.getvalue())
