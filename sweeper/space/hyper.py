"""A space's hyperparameters: trial settings it fixes or searches, each value read by the
setting it sets (sweeper.trial.fields, the same reader as `--set`), so the file's value
is the value a trial gets. A searched setting is a `Distribution` (`uniform`,
`loguniform`, `int`, `choice`) whose every value is checked against the setting's range.
Checked while the file is read (sweeper.space.schema). Pure module."""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from sweeper.errors import ConfigError
from sweeper.trial.reading import parse_value
from sweeper.trial.settings import SETTINGS, lookup

# Settings a space decides itself; every other trial setting is a hyperparameter.
# The intermediate budget is spelled once, in the file's `intermediate:` section.
NOT_HYPER = {"targets", "intermediate", "model", "data", "local_data", "eval_languages", "seed",
             "intermediate_steps", "examples_cap", "examples_total"}
HYPER = [name for name in SETTINGS if name not in NOT_HYPER]
KINDS = {"uniform": "uniform", "loguniform": "loguniform", "int": "integer", "choice": "choice"}
Scalar = Union[StrictBool, int, float, str, None, list]


def finite(value: Any) -> Any:
    """A number of a space file is finite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def as_list(value: Any) -> Any:
    """A scalar where a list belongs is a one-element list (never split into letters)."""
    if value is None:
        return []
    return value if isinstance(value, (list, tuple)) else [value]


class Distribution(BaseModel):
    """One of `{uniform: [lo, hi]}`, `{loguniform: [lo, hi]}`, `{int: [lo, hi]}`,
    `{choice: [...]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    uniform: Annotated[list[Annotated[float, AfterValidator(finite)]],
                       Field(min_length=2, max_length=2)] | None = None
    loguniform: Annotated[list[Annotated[float, AfterValidator(finite)]],
                          Field(min_length=2, max_length=2)] | None = None
    integer: Annotated[list[Annotated[int, Field(strict=True)]],
                       Field(min_length=2, max_length=2)] | None = Field(default=None,
                                                                         alias="int")
    choice: Annotated[list[Scalar], BeforeValidator(as_list), Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one(self) -> "Distribution":
        given = [k for k in KINDS if getattr(self, KINDS[k]) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform, loguniform, int, choice")
        kind = given[0]
        if kind != "choice":
            low, high = getattr(self, KINDS[kind])
            if not low < high:
                raise ValueError(f"{kind} range [{low}, {high}] is not valid: low < high")
            if kind == "loguniform" and low <= 0:
                raise ValueError(f"loguniform range [{low}, {high}] is not valid: low > 0")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, KINDS[k]) is not None)

    @property
    def values(self) -> list:
        return getattr(self, KINDS[self.kind])


def _distribution(key: str, dist: Distribution) -> Distribution:
    """A searched setting, every value it can take checked against the setting's range
    (choices read as the setting's type)."""
    kind, values = dist.kind, dist.values
    if kind == "choice":
        return Distribution(choice=[parse_value(key, v) for v in values])
    for bound in values:
        parse_value(key, bound)
    if kind == "int" and not lookup(key).type.startswith("int"):
        raise ConfigError(f"'{key}' is not an integer setting: use uniform")
    if kind != "int" and not lookup(key).type.startswith(("float", "int")):
        raise ConfigError(f"'{key}' is not numeric: use choice")
    return dist


def read_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """Each hyperparameter read by its setting: a fixed value as the trial gets it, a
    distribution checked; a ConfigError naming the first bad one."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in HYPER:
            raise ConfigError(f"'{key}' is not a hyperparameter (known: {', '.join(HYPER)})")
        out[key] = _distribution(key, value) if isinstance(value, Distribution) \
            else parse_value(key, value)
    return out


def fixed(values: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters with one value."""
    return {k: v for k, v in values.items() if not isinstance(v, Distribution)}


def searched(values: dict[str, Any]) -> dict[str, Distribution]:
    """The hyperparameters a search draws."""
    return {k: v for k, v in values.items() if isinstance(v, Distribution)}
