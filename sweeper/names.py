"""Names that become folder or file names (tasks, languages, sweeps): checked once, so
that no name can place a file outside the folder it belongs in. Pure module."""

from __future__ import annotations

import re
from typing import Any

from sweeper.errors import ConfigError

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def safe_name(value: Any, what: str) -> str:
    """A name that becomes a folder or file name (a task, a language, a sweep): letters,
    digits, '_', '.', '-', never a path (no '/', no '..' start)."""
    text = str(value)
    if not SAFE_NAME.match(text):
        raise ConfigError(f"{what} name {text!r} must be letters, digits, '_', '.' or '-' "
                          "(and start with a letter or digit)")
    return text
