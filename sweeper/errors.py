"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations


class SweeperError(Exception):
    """Bad input (a file, a task, a language, a split, a server): says what and where."""


class ConfigError(SweeperError):
    """A search-space file, trial setting or catalog entry that does not validate."""


class DataError(SweeperError):
    """Data that cannot be loaded: unreachable hub, missing split or file, bad columns."""


def one_line(exc: BaseException, limit: int = 500) -> str:
    """An exception's message on one line (white space folded), at most `limit` characters;
    its type's name where it has no message."""
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:limit]
