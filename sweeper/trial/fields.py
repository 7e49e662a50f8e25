"""Setting fields: a dataclass field that carries its `--set` help, its flat name and its
valid range, and the one reader that coerces a raw value (a `--set` string, a YAML value)
to the field's type and checks it. Pure module."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from sweeper import yamlio
from sweeper.errors import ConfigError


def doc(text: str, default: Any = dataclasses.MISSING, *, flag: str | None = None,
        choices: tuple[str, ...] | None = None, low: float | None = None,
        low_open: bool = False, high: float | None = None, high_open: bool = False,
        multi_task: bool = False) -> Any:
    """A dataclass field carrying its help text, its flat `--set` name and its valid range
    (`low`/`high` bounds, open or closed; `choices` for strings); `multi_task`: it can
    only matter when several intermediate tasks are trained together."""
    meta = {"doc": text, "flag": flag, "choices": choices, "low": low, "low_open": low_open,
            "high": high, "high_open": high_open, "multi_task": multi_task}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Setting:
    """One field of one group, under its flat `--set` name."""

    name: str
    group: str
    field: dataclasses.Field

    @property
    def doc(self) -> str:
        return self.field.metadata["doc"]

    @property
    def type(self) -> str:
        return str(self.field.type)

    @property
    def multi_task(self) -> bool:
        return bool(self.field.metadata.get("multi_task"))


def check_value(s: Setting, value: Any) -> None:
    """Raise ConfigError when `value` is outside setting `s`'s valid range or choices."""
    m = s.field.metadata
    if value is None:
        return
    if m["choices"] and value not in m["choices"]:
        raise ConfigError(f"{s.name} '{value}' is not one of {', '.join(m['choices'])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{s.name} must be a finite number (got {value})")
        low, high = m["low"], m["high"]
        if low is not None and (value < low or (m["low_open"] and value == low)):
            raise ConfigError(f"{s.name} must be {'>' if m['low_open'] else '>='} {low:g} "
                              f"(got {value})")
        if high is not None and (value > high or (m["high_open"] and value == high)):
            raise ConfigError(f"{s.name} must be {'<' if m['high_open'] else '<='} {high:g} "
                              f"(got {value})")


def _mapping(value: Any) -> dict[str, str]:
    """`{task: DIR}`, or `task=DIR,task2=DIR2` (the `--set` form)."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in (value if isinstance(value, (list, tuple)) else str(value).split(",")):
            key, sep, folder = str(part).partition("=")
            if not sep:
                raise ValueError
            items.append((key, folder))
    out = {str(k).strip(): str(v).strip() for k, v in items}
    if any(not k or not v for k, v in out.items()):
        raise ValueError
    return out


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError
    return value


def coerce(s: Setting, raw: Any) -> Any:
    """`raw` as setting `s`'s type (lists from comma-separated strings, mappings from
    `key=value` pairs), range-checked; a ConfigError naming the setting otherwise."""
    ftype = s.type
    value = yamlio.loads(raw, f"setting '{s.name}'") \
        if isinstance(raw, str) and not ftype.startswith("str") else raw
    if value is None or value == "":
        if "None" not in ftype and not ftype.startswith(("list", "dict")):
            raise ConfigError(f"setting '{s.name}' cannot be empty")
        return [] if ftype.startswith("list") else {} if ftype.startswith("dict") else None
    try:
        if ftype.startswith("dict"):
            value = _mapping(raw if isinstance(raw, str) else value)
            if ftype == "dict[str, int]":
                value = {k: _positive(v) for k, v in value.items()}
        elif ftype.startswith("list"):
            items = value if isinstance(value, (list, tuple)) else str(value).split(",")
            value = [str(x).strip() for x in items if str(x).strip()]
        elif ftype == "bool":
            if not isinstance(value, bool):
                raise ValueError
        elif ftype.startswith("int"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(value)
        elif ftype.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
        else:
            if isinstance(value, (dict, list)):
                raise ValueError
            value = str(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"setting '{s.name}': cannot read {raw!r} as {ftype}") from None
    check_value(s, value)
    return value
