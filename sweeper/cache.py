"""Content-addressed store of stage outputs (intermediate-phase encoders), shared by trials.

An entry is a folder named by the hash of everything that determines it. It is built
in a temporary folder and renamed into place with a COMPLETE marker, under a file lock
(`filelock`, released by the kernel if its holder dies), so two concurrent trials never
build the same entry and a half-written entry is never served. The root must be on a
filesystem every worker sees (local disk on one machine; a shared mount on a cluster).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

MARKER = "COMPLETE"


class StageCache:
    """Folders keyed by content hash: fetch one, or build it exactly once."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.path(key) / MARKER).exists()

    def fetch_or_build(self, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
        """(entry folder, served_from_cache). `build(folder)` fills a fresh folder."""
        final = self.path(key)
        if self.has(key):
            return final, True
        with FileLock(str(self.root / f"{key}.lock")):
            if self.has(key):  # built by another trial while we waited
                return final, True
            tmp = self.root / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
            tmp.mkdir()
            try:
                build(tmp)
                (tmp / MARKER).write_text(key)
                if final.exists():  # leftover of a builder that died before the marker
                    shutil.rmtree(final)
                os.replace(tmp, final)
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
