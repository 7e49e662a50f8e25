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


# Longest first. Under pytest-xdist with `--maxschedchunk 1` each worker takes the next
# test only when it is free, so starting the long end-to-end runs first and letting the
# short ones fill in after them (longest-processing-time first) ends the workers nearly
# together; in file order the long runs met at the end on one worker. The times come
# from a recorded run (tests/durations.json, refreshed with `--record-durations`); a test
# not in it counts as short.
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser):
    parser.addoption("--record-durations", action="store_true",
                     help=f"write each test's time (setup, call and teardown, if 2 s or "
                          f"more) to {DURATIONS.name}, for ordering runs longest first")


def pytest_collection_modifyitems(config, items):
    import json

    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    items.sort(key=lambda item: -known.get(item.nodeid, 0.0))  # stable: ties keep file order


_TIMES: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _TIMES[report.nodeid] = _TIMES.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    import json

    if not session.config.getoption("--record-durations") or \
            os.environ.get("PYTEST_XDIST_WORKER"):  # (the controller hears every worker)
        return
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    known.update({k: round(v, 1) for k, v in _TIMES.items() if v >= 2.0})
    for k in [k for k, v in _TIMES.items() if v < 2.0]:
        known.pop(k, None)
    DURATIONS.write_text(json.dumps(dict(sorted(known.items(), key=lambda kv: -kv[1])),
                                    indent=1) + "\n")
