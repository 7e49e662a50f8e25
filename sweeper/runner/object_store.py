"""Fewer requests to an object store for what Ray Tune writes to a sweep's storage.

Tune copies its whole staging folder to the storage at every save (every trial's results
and parameters with it, changed or not) and makes every folder on the way before each
file it writes; pyarrow makes a folder on S3 as an empty object per level, each time. On
S3 that was most of a sweep's requests, their number growing with the square of the
trials. Here, on an object store (never on a local disk): no folder is made inside the
sweep's (an object store has no folders, only names with slashes: the files make them),
any other folder once per process, and a file is written again only when its bytes
changed since this process wrote it. What a process remembers is its own (a worker's
copy of the file system, or a resumed driver, starts afresh).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow.fs as pafs


class Economy:
    """The folders made and the files written on `inner` by this process."""

    def __init__(self, inner: pafs.FileSystem, folder: str) -> None:
        self.inner, self.folder = inner, folder.rstrip("/")
        self.on = not isinstance(inner, pafs.LocalFileSystem)
        self.made: set[str] = set()
        self.written: dict[str, bytes] = {}  # path -> digest of the bytes written there

    def create_dir(self, path: str, recursive: bool) -> None:
        path = path.rstrip("/")
        if self.on and (path in self.made or path.startswith(self.folder + "/")):
            return
        self.inner.create_dir(path, recursive=recursive)
        if self.on:
            self.made.add(path)
            while recursive and "/" in path:
                path = path.rsplit("/", 1)[0]
                self.made.add(path)

    def remembers(self, path: str) -> bool:
        """Whether a file written to `path` is held until closed, to be compared with what
        this process wrote there (a checkpoint's files are written once each)."""
        return self.on and "/checkpoint_" not in path

    def put_if_changed(self, path: str, metadata: Any, data: bytes) -> None:
        """`data` at `path`, unless this process wrote the same bytes there already."""
        digest = hashlib.sha256(data).digest()
        if self.written.get(path) == digest:
            return
        with self.inner.open_output_stream(path, metadata=metadata) as out:
            out.write(data)
        self.written[path] = digest

    def forget(self, path: str, itself: bool = True) -> None:
        """What this process made or wrote at or under `path` (deleted, moved or
        overwritten there); with `path` "", everything."""
        if not path:
            self.made, self.written = set(), {}
            return
        under = path.rstrip("/") + "/"
        self.made = {p for p in self.made if not p.startswith(under)
                     and not (itself and p == path)}
        self.written = {p: d for p, d in self.written.items() if not p.startswith(under)
                        and not (itself and p == path)}
