"""Checks of the folders a command will write, before it writes anything."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sweeper.errors import ConfigError


def check_writable_dir(path: str | os.PathLike, what: str) -> Path:
    """`path` as an absolute folder that exists or can be made, and can be written;
    one ConfigError naming `what` and the culprit otherwise. Leaves nothing behind."""
    target = Path(path).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{what} {target} is a file, not a folder")
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{what} {target} lies under {probe}, which is a file")
    if not os.access(probe, os.W_OK | os.X_OK) or not _can_create(probe):
        raise ConfigError(f"{what} {target} cannot be written ({probe} is not writable)")
    return target


def _can_create(folder: Path) -> bool:
    """Whether a file can really be made in `folder` (root passes `os.access` on /proc);
    the probe file is removed at once."""
    try:
        fd, name = tempfile.mkstemp(prefix=".sweeper-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True
