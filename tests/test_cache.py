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


def _entry(cache: StageCache, key: str = "k") -> Path:
    def build(folder: Path) -> None:
        (folder / "encoder").mkdir()
        (folder / "encoder" / "model.safetensors").write_bytes(bytes(range(256)) * 400)
        (folder / "metrics.json").write_text('{"a": 1}')

    path, cached = cache.fetch_or_build(key, build)
    assert not cached
    return path


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, named", [
    (lambda p: _flip(p / "encoder" / "model.safetensors"), "does not match its checksum"),
    (lambda p: (p / "encoder" / "model.safetensors").write_bytes(b"\0" * 100), "has 100 bytes"),
    (lambda p: __import__("shutil").rmtree(p / "encoder"), "encoder/model.safetensors is missing"),
    (lambda p: (p / "metrics.json").write_text('{"a": '), "metrics.json has"),
    (lambda p: (p / "MANIFEST.json").write_text("{}"), "does not match its COMPLETE"),
])
def test_a_damaged_entry_is_quarantined_and_rebuilt(tmp_path, capsys, damage, named):
    cache = StageCache(tmp_path / "c")
    path = _entry(cache)
    assert cache.get("k") == path
    damage(path)
    built = []
    again, cached = cache.fetch_or_build("k", lambda f: built.append(f) or
                                         (f / "fresh").write_text("1"))
    assert not cached and built and (again / "fresh").exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stage cache: entry k failed its check" in err and named in err
    quarantined = list((tmp_path / "c" / ".quarantine").iterdir())
    assert len(quarantined) == 1 and quarantined[0].name.startswith("k.")
    assert cache.get("k") == again  # the rebuilt entry passes


def test_an_intact_entry_is_hashed_once_per_process(tmp_path, monkeypatch):
    from sweeper import cache as cache_module

    cache = StageCache(tmp_path)
    path = _entry(cache)
    cache_module._VERIFIED.clear()
    calls = []
    real = cache_module._check
    monkeypatch.setattr(cache_module, "_check", lambda f: calls.append(f) or real(f))
    for _ in range(3):
        assert cache.get("k") == path
    assert len(calls) == 1
    (path / "metrics.json").write_text('{"a": 2}')  # rewritten: checked (and failed) again
    assert cache.get("k") is None and len(calls) >= 2
