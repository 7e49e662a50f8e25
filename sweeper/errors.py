"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations


class SweeperError(Exception):
    """Bad input (a file, a task, a language, a split, a server): says what and where."""


class ConfigError(SweeperError):
    """A search-space file, trial setting or catalog entry that does not validate."""


class DataError(SweeperError):
    """Data that cannot be loaded: unreachable hub, missing split or file, bad columns."""


def one_line(exc: BaseException | str, limit: int = 500, *, last: bool = False) -> str:
    """An exception's message (or a text) on one line, white space folded, at most `limit`
    characters; its type's name where it has no message. `last`: only its last line (a
    remote error that carries a traceback ends with the error itself)."""
    text = str(exc)
    if last:
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    text = " ".join(text.split())
    name = type(exc).__name__ if isinstance(exc, BaseException) else ""
    return (text or name)[:limit]
