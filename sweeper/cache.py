"""Content-addressed store of stage outputs (intermediate-phase encoders, baselines),
shared by trials, and verified before it is trusted.

An entry is a folder named by the hash of everything that determines it. It is built
in a temporary folder, given a MANIFEST (every file's size and SHA-256) and a COMPLETE
marker (which holds the manifest's own digest), and renamed into place, under a file
lock (`filelock`, released by the kernel if its holder dies): two concurrent trials
never build the same entry and a half-written entry is never served. Before an entry is
served, its files are checked against the manifest; a corrupt, partial or missing entry
is moved to `.quarantine/` and rebuilt under the entry's lock, with one line on stderr
naming the key and the file. The root must be on a filesystem every worker sees (local
disk on one machine; a shared mount on a cluster).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from sweeper import atomic
from sweeper.digest import digest, stream_digest

MARKER = "COMPLETE"
MANIFEST = "MANIFEST.json"
CHUNK = 8 << 20


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return stream_digest(f, CHUNK)


def manifest_digest(listed: dict[str, list]) -> str:
    """The whole digest of a manifest, as its COMPLETE marker holds it."""
    return digest(listed, 64)


def manifest(folder: Path) -> dict[str, list]:
    """relative path -> [size, sha256] of every file under `folder` (the marker and the
    manifest excluded)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in (MARKER, MANIFEST):
            out[rel] = [path.stat().st_size, file_digest(path)]
    return out


_VERIFIED: dict[str, tuple] = {}  # entry folder -> its files' (name, size, mtime) when checked


def _stamp(folder: Path) -> tuple:
    return tuple(sorted((p.relative_to(folder).as_posix(), p.stat().st_size,
                         p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()))


def problem(folder: Path) -> str | None:
    """What is wrong with a committed entry (None: it matches its manifest). Hashed once
    per process while no file's size or modification time changes."""
    try:
        stamp = _stamp(folder)
    except OSError:
        return "its folder cannot be read"
    if _VERIFIED.get(str(folder)) == stamp:
        return None
    wrong = _check(folder)
    if wrong is None:
        _VERIFIED[str(folder)] = stamp
    return wrong


def _check(folder: Path) -> str | None:
    try:
        listed = json.loads((folder / MANIFEST).read_text())
        expected = (folder / MARKER).read_text().split()
    except (OSError, ValueError):
        return f"{MANIFEST} missing or unreadable"
    if len(expected) != 2 or expected[1] != manifest_digest(listed):
        return f"{MANIFEST} does not match its {MARKER} marker"
    for rel, (size, sha) in listed.items():
        path = folder / rel
        if not path.is_file():
            return f"{rel} is missing"
        if path.stat().st_size != size:
            return f"{rel} has {path.stat().st_size} bytes, not {size}"
        if file_digest(path) != sha:
            return f"{rel} does not match its checksum"
    return None


class StageCache:
    """Folders keyed by content hash: fetch a verified one, or build it exactly once."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        """An entry is committed (not yet verified: see `get`)."""
        return (self.path(key) / MARKER).exists()

    def get(self, key: str) -> Path | None:
        """The committed entry, verified against its manifest; a bad one is quarantined
        (under its lock) and None returned, so that it is built again."""
        if not self.has(key):
            return None
        if problem(self.path(key)) is None:
            return self.path(key)
        with FileLock(str(self.root / f"{key}.lock")):
            return self._checked(key)

    def _checked(self, key: str) -> Path | None:
        """`get` for a caller holding the entry's lock."""
        if not self.has(key):
            return None
        wrong = problem(self.path(key))
        if wrong is None:
            return self.path(key)
        place = self.root / ".quarantine" / f"{key}.{uuid.uuid4().hex[:8]}"
        place.parent.mkdir(exist_ok=True)
        os.replace(self.path(key), place)
        print(f"stage cache: entry {key} failed its check ({wrong}); moved to {place}, "
              "building it again", file=sys.stderr)
        return None

    def fetch_or_build(self, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
        """(entry folder, served_from_cache). `build(folder)` fills a fresh folder."""
        final = self.path(key)
        if self.get(key) is not None:
            return final, True
        with FileLock(str(self.root / f"{key}.lock")):
            if self._checked(key) is not None:  # built by another trial while we waited
                return final, True
            tmp = self.root / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
            tmp.mkdir()
            try:
                build(tmp)
                listed = manifest(tmp)
                atomic.write_json(tmp / MANIFEST, listed)
                atomic.write_text(tmp / MARKER, f"{key} {manifest_digest(listed)}")
                if final.exists():  # leftover of a builder that died before the marker
                    shutil.rmtree(final)
                os.replace(tmp, final)
                atomic.sync_folder(self.root)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return final, False

    def busy(self, key: str) -> bool:
        """Another process is building `key` now (its lock is held; a builder that died
        released it: the kernel drops a dead process's locks)."""
        lock = FileLock(str(self.root / f"{key}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False

    def entries(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / MARKER).exists())
