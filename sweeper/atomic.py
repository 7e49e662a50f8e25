"""State files written whole or not at all: a temporary file beside the target, flushed
and fsynced, then renamed over it (and the folder fsynced, so the rename survives a
crash). A full disk or a crash leaves the old file or none, never a truncated one; a
full disk is told as one line naming the path."""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from sweeper.errors import SweeperError


class NoSpace(SweeperError):
    """The disk under a path is full; `mount` is the file system to free (None where it
    is not one this process can see, as a tracking server's database)."""

    def __init__(self, message: str, mount: str | None = None) -> None:
        super().__init__(message)
        self.mount = mount

    def __reduce__(self):  # (a pickle keeps the mount: Ray sends errors between processes)
        return type(self), (str(self), self.mount)


def no_space(path: str | os.PathLike) -> NoSpace:
    mount = _mount_of(path)
    return NoSpace(f"no space left on {mount} (writing {path}): free some, then "
                   "`sweeper resume` continues a sweep", mount)


def disk_full(exc: BaseException, *paths: str | os.PathLike | None) -> NoSpace | None:
    """`exc` as a NoSpace when it says the disk is full (an OSError, or a library's own
    error carrying the OS's message, as safetensors' writer does), naming the file it
    names or else the one of `paths` (where the write may have gone) on the fullest disk."""
    if isinstance(exc, NoSpace):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return no_space(exc.filename or fullest(paths))
    text = str(exc)
    if "No space left on device" in text or "os error 28" in text:
        return no_space(fullest(paths))
    return None


def fullest(paths: tuple[str | os.PathLike | None, ...]) -> str | os.PathLike:
    """Of the places a failed write may have gone, the one whose file system has the
    least room left (the first on a tie): an error that names no file is told on the
    disk that is full, not on whichever place was given first."""
    given = [p for p in paths if p]

    def room(path: str | os.PathLike) -> float:
        try:
            return shutil.disk_usage(_mount_of(path)).free
        except OSError:
            return float("inf")

    return min(given, key=room)


def _mount_of(path: str | os.PathLike) -> str:
    """The mount point holding `path` (what a user frees space on)."""
    p = Path(path).resolve()
    while not p.exists():
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return str(p)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        full = disk_full(exc, path)
        if full is not None:
            raise full from None
        raise
    sync_folder(path.parent)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, data: Any, indent: int | None = None) -> None:
    write_text(path, json.dumps(data, indent=indent))


def sync_folder(folder: str | os.PathLike) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
