"""Setting fields: a dataclass field that carries its `--set` help, its flat name and its
valid range, and the one reader that turns a raw value (a `--set` string, a YAML value)
into the field's type. The reading and checking is pydantic's, from the field's type hint
and its range, as for search-space files and catalog entries. Pure module."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

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


def _split(value: Any) -> Any:
    """A list from `a,b` (the `--set` form)."""
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    if isinstance(value, (list, tuple)):
        return [str(x).strip() for x in value if str(x).strip()]
    return value


def _pairs(value: Any) -> Any:
    """`{task: DIR}` from `task=DIR,task2=DIR2` (the `--set` form)."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in (value if isinstance(value, (list, tuple)) else str(value).split(",")):
            key, sep, folder = str(part).partition("=")
            if not sep:
                raise ValueError("expected key=value")
            items.append((key, folder))
    out = {str(k).strip(): str(v).strip() for k, v in items}
    if any(not k or not v for k, v in out.items()):
        raise ValueError("an empty key or value")
    return out


def _number(value: Any) -> Any:
    """Numbers are not true/false, and are finite."""
    if isinstance(value, bool):
        raise ValueError("a number, not true/false")
    try:
        finite = math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return value  # not a number at all: the type's own check says so
    if not finite:
        raise ValueError("must be a finite number")
    return value


def _text(value: Any) -> Any:
    """A YAML boolean where the setting is text reads as its word (`compile: true`)."""
    return str(value).lower() if isinstance(value, bool) else value


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(value: Any) -> Any:
        if value is not None and value not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return value
    return check


@dataclass(frozen=True)
class Setting:
    """One field of one group, under its flat `--set` name."""

    name: str
    group: str
    field: dataclasses.Field
    hint: Any = None  # the field's resolved type hint

    @property
    def doc(self) -> str:
        return self.field.metadata["doc"]

    @property
    def type(self) -> str:
        return str(self.field.type)

    @property
    def multi_task(self) -> bool:
        return bool(self.field.metadata.get("multi_task"))

    @functools.cached_property
    def adapter(self) -> TypeAdapter:
        """pydantic's reader of this setting: its type, range and choices."""
        m, hint = self.field.metadata, self.hint
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
        bare = [a for a in typing.get_args(hint) if a is not type(None)] if optional else [hint]
        origin = typing.get_origin(bare[0])
        steps: list[Any] = []
        if origin is list:
            steps.append(BeforeValidator(_split))
        elif origin is dict:
            steps.append(BeforeValidator(_pairs))
        bounds = {("gt" if m["low_open"] else "ge"): m["low"]} if m["low"] is not None else {}
        if m["high"] is not None:
            bounds["lt" if m["high_open"] else "le"] = m["high"]
        if bounds:
            steps.append(Field(**bounds))
        if m["choices"]:
            steps.append(AfterValidator(_one_of(m["choices"])))
        if bare[0] in (int, float):  # before validators run last-given first
            steps.append(BeforeValidator(_number))
        elif bare[0] is str:
            steps.append(BeforeValidator(_text))
        inner = Annotated[(bare[0], *steps)] if steps else bare[0]
        return TypeAdapter(typing.Optional[inner] if optional else inner,
                           config=ConfigDict(coerce_numbers_to_str=True))


def _message(s: Setting, raw: Any, exc: ValidationError) -> str:
    """pydantic's first complaint as one line naming the setting."""
    error = exc.errors()[0]
    kind, ctx, got = error["type"], error.get("ctx") or {}, error.get("input", raw)
    words = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
             "less_than_equal": "<="}
    if kind in words:
        bound = float(next(iter(ctx.values())))
        return f"{s.name} must be {words[kind]} {bound:g} (got {got})"
    if kind == "value_error" and "finite" in error["msg"]:
        return f"{s.name} must be a finite number (got {got})"
    if kind == "value_error" and "not one of" in error["msg"]:
        return f"{s.name} '{got}' is {error['msg'].removeprefix('Value error, ')}"
    return f"setting '{s.name}': cannot read {raw!r} as {s.type}"


def validate(s: Setting, value: Any, raw: Any = None) -> Any:
    """`value` read as setting `s`'s type and checked; a ConfigError naming it otherwise."""
    try:
        return s.adapter.validate_python(value)
    except ValidationError as exc:
        raise ConfigError(_message(s, value if raw is None else raw, exc)) from None


def coerce(s: Setting, raw: Any) -> Any:
    """`raw` as setting `s`'s value: a `--set` string is read as a YAML scalar first
    (`null`, numbers, true/false), then checked by `validate`."""
    ftype = s.type
    value = yamlio.loads(raw, f"setting '{s.name}'") \
        if isinstance(raw, str) and not ftype.startswith("str") else raw
    if value is None or value == "":
        if "None" not in ftype and not ftype.startswith(("list", "dict")):
            raise ConfigError(f"setting '{s.name}' cannot be empty")
        return [] if ftype.startswith("list") else {} if ftype.startswith("dict") else None
    return validate(s, value, raw)
