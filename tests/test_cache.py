"""The shared stage cache: built once under concurrency, never served half-written."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from sweeper.cache import MARKER, StageCache


def _build_slowly(root: str, key: str, log: str) -> bool:
    def build(folder: Path) -> None:
        with open(log, "a") as f:
            f.write("built\n")
        time.sleep(1.0)
        (folder / "weights.bin").write_bytes(b"x" * 1000)

    path, cached = StageCache(root).fetch_or_build(key, build)
    assert (path / "weights.bin").stat().st_size == 1000
    return cached


def test_two_processes_build_one_entry_once(tmp_path):
    log = tmp_path / "log.txt"
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        served = pool.starmap(_build_slowly, [(str(tmp_path / "c"), "k1", str(log))] * 2)
    assert log.read_text().count("built") == 1
    assert sorted(served) == [False, True]  # one trained it, the other was served


def test_a_failed_build_leaves_nothing_and_is_retried(tmp_path):
    cache = StageCache(tmp_path)

    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        cache.fetch_or_build("k", broken)
    assert not cache.has("k") and cache.entries() == []
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    path, cached = cache.fetch_or_build("k", lambda f: (f / "ok").write_text("1"))
    assert not cached and (path / "ok").exists() and (path / MARKER).exists()
    assert cache.fetch_or_build("k", lambda f: None) == (path, True)


def test_an_entry_without_marker_is_rebuilt(tmp_path):
    cache = StageCache(tmp_path)
    (tmp_path / "k").mkdir()  # a folder left by a builder that died before finishing
    (tmp_path / "k" / "partial").write_text("?")
    path, cached = cache.fetch_or_build("k", lambda f: (f / "full").write_text("1"))
    assert not cached and (path / "full").exists() and not (path / "partial").exists()


def test_busy_sees_a_live_builder_and_not_a_dead_one(tmp_path):
    import subprocess
    import sys

    cache = StageCache(tmp_path)
    assert not cache.busy("k")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
        "l.acquire(); print('held', flush=True); time.sleep(60)"), str(tmp_path / "k.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cache.busy("k")
    finally:
        holder.kill()
        holder.wait()
    assert not cache.busy("k")  # its holder died: the lock is free, the stage can be built
