"""One task entry of the catalog's YAML read into a TaskSpec: pydantic's first complaint
about it as one line naming the task and the field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sweeper.catalog.schema import TaskSpec
from sweeper.errors import ConfigError
from sweeper.names import safe_name

EXTRA = ("extra_forbidden", "unexpected_keyword_argument")


def _where(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"] if not isinstance(part, int))


def _message(exc: ValidationError) -> str:
    """pydantic's first complaint about an entry, as the catalog says it."""
    error = exc.errors()[0]
    kind, where = error["type"], _where(error)
    if kind in EXTRA:
        names = sorted(e["loc"][-1] for e in exc.errors() if e["type"] in EXTRA)
        return f"unknown field(s) {names}"
    if kind in ("missing", "missing_argument"):
        return f"missing required field '{where}'"
    if kind == "literal_error":
        allowed = error["msg"].replace("Input should be", "not one of")
        return f"{where} '{error['input']}' is {allowed}"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


def parse_task(entry: dict, group: str) -> TaskSpec:
    """Validate one YAML entry into a TaskSpec; unknown fields are errors."""
    if not isinstance(entry, dict):
        raise ConfigError(f"catalog {group}: a task entry must be a mapping")
    name = safe_name(entry.get("name") or "", f"catalog {group}: task") \
        if entry.get("name") is not None else None
    where = f"catalog task '{name}'" if name else f"catalog {group}"
    if "group" in entry:
        raise ConfigError(f"{where}: unknown field(s) ['group']")
    if entry.get("role") in ("target", "both") and "selection" not in entry:
        raise ConfigError(f"{where}: a target needs `selection` (its dev split, another "
                          "task's split, or null for none)")
    try:
        return TaskSpec(**entry, group=group)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_message(exc)}") from None
    except TypeError as exc:  # not keyword arguments at all
        raise ConfigError(f"{where}: {exc}") from None
