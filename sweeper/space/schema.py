"""The shape of a search-space file, checked by pydantic before anything looks at it.

Every value is checked for type and range; an error names its key path
(`intermediate.counts.min`); a scalar is taken where a one-element list is meant
(`targets: xnli`). What needs the catalog (task and language names, pools, counts
against pool sizes) and the trial settings (hyperparameter ranges) is checked after,
in `sweeper.space.spec`. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from sweeper.errors import ConfigError
from sweeper.space.fidelity_schema import FidelityBlock
from sweeper.space.hyper import (
    Distribution,
    Scalar,
    as_list,
    finite,
    read_hyperparameters,
)

MIXES = ("english", "non_english", "mixed")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a sweep name is a folder name


def _seed_list(value: Any) -> Any:
    """`seeds: 3` could mean the seed 3 or three seeds: a list is asked for."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        many = list(range(value)) if isinstance(value, int) and 1 < value <= 10 else [0, 1, 2]
        raise ValueError(f"give a list: [{value}] for the seed {value}, or {many} for "
                         "that many seeds")
    return value


Names = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(as_list)]
Count = Annotated[int, Field(ge=0, strict=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountRange(Strict):
    """`counts: {min: 0, max: 16, log: true}`: 0 and powers of two within [min, max]."""

    min: Count = 0
    max: Count
    log: StrictBool = False

    @model_validator(mode="after")
    def _ordered(self) -> "CountRange":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


Counts = Union[Annotated[list[Count], BeforeValidator(as_list), Field(min_length=1)], CountRange]


class MixCounts(Strict):
    counts: Counts | None = None


class Budget(Strict):
    """The intermediate phase's budget: how long (`steps` in all, or `epochs` over the
    capped sets) and on how much data (`examples_per_task`, or `examples_total` split
    evenly over the tasks). A list of budgets is a list of arms, each crossed with the
    rest of the design (fixed total data vs fixed data per task, say)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    steps: Annotated[int, Field(ge=1, strict=True)] | None = None
    epochs: Annotated[float, Field(gt=0), AfterValidator(finite)] | None = None
    examples_per_task: Annotated[int, Field(ge=1, strict=True)] | None = None
    examples_total: Annotated[int, Field(ge=1, strict=True)] | None = None

    @model_validator(mode="after")
    def _one_each(self) -> "Budget":
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give steps or epochs, not both")
        if self.examples_per_task is not None and self.examples_total is not None:
            raise ValueError("give examples_per_task or examples_total, not both")
        if self.steps is None and self.epochs is None and self.examples_per_task is None \
                and self.examples_total is None:
            raise ValueError("a budget needs steps, epochs, examples_per_task or "
                             "examples_total")
        return self


class Chains(Strict):
    """`chains: {pool, length, permutations}`: each chain a seeded random order of the
    pool; trial k of a chain trains its first k tasks (paired marginal gains)."""

    pool: Annotated[Names, Field(min_length=1)]
    length: Annotated[int, Field(ge=1, strict=True)]
    permutations: Annotated[int, Field(ge=1, strict=True)]


class Intermediate(Strict):
    pool: Names = []
    exclude: Names = []
    counts: Counts | None = None
    language_mix: Union[Annotated[list[Literal[MIXES]], BeforeValidator(as_list)],
                        dict[Literal[MIXES], MixCounts | None]] = ["mixed"]
    sets: Annotated[list[Names], BeforeValidator(as_list)] = []
    allow_protocol_breaking: StrictBool = False
    draws: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    budget: Union[Budget, Annotated[list[Budget], Field(min_length=1)]] | None = None
    chains: Chains | None = None


class Objective(Strict):
    # english_dev: strict zero-shot (XTREME's); target_dev: the oracle (reported beside)
    selection: Literal["english_dev", "target_dev"] = "english_dev"
    languages: Annotated[str, Field(min_length=1)] = "all"
    mode: Literal["max", "min"] = "max"
    metric: Literal["score", "gain"] = "score"


class Asha(Strict):
    grace_period: Annotated[int, Field(ge=1, strict=True)] = 1
    reduction_factor: Annotated[float, Field(gt=1), AfterValidator(finite)] = 2.0


class Scheduler(Strict):
    asha: Asha


class Search(Strict):
    algorithm: Literal["optuna", "random", "grid"] = "optuna"
    num_samples: Annotated[int, Field(ge=1, strict=True)] = 8
    max_concurrent: Annotated[int, Field(ge=1, strict=True)] = 1
    scheduler: Scheduler | None = None
    # `rank`: Optuna starts from the ranking's top sets (sweeper rank), a grid runs its
    # best-predicted sets first; the ranking is logged with the sweep and graded
    prior: Literal["none", "rank"] = "none"
    order: Literal["space", "rank"] = "space"


class Resources(Strict):
    cpu: Annotated[float, Field(gt=0), AfterValidator(finite)] | None = None
    gpu: Annotated[float, Field(ge=0), AfterValidator(finite)] | None = None


class SpaceFile(Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)] | None = None
    description: str = ""
    model: Annotated[str, Field(min_length=1)] = "xlm-roberta-large"
    data: Annotated[str, Field(min_length=1)] = "sample"
    local: dict[str, Annotated[str, Field(min_length=1)]] = {}  # task -> local data folder
    # BUCC from the hub's gold-pair-only configs: numbers not comparable with XTREME's
    allow_gold_only_bucc: StrictBool = False
    targets: Annotated[Names, Field(min_length=1)]
    eval_languages: Names = []
    objective: Objective = Objective()
    intermediate: Intermediate = Intermediate()
    # a value, a distribution, or (target_batch_size) a mapping of targets to numbers
    hyperparameters: dict[str, Union[Distribution, Scalar, dict[str, int]]] = {}
    seeds: Annotated[list[Annotated[int, Field(ge=0, strict=True)]], BeforeValidator(_seed_list),
                     Field(min_length=1)] = [0]
    search: Search = Search()
    resources: Resources = Resources()
    fidelity: FidelityBlock | None = None  # rungs from cheap to full (sweeper.space.fidelity)

    @field_validator("hyperparameters", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("hyperparameters", mode="after")
    @classmethod
    def _read(cls, value: dict[str, Any]) -> dict[str, Any]:
        return read_hyperparameters(value)  # a ConfigError passes through: one line


def _path(loc: tuple) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "constrained-",
                                                           "list[", "dict[", "union["))]
    return ".".join(p for p in parts if p not in ("Distribution", "CountRange", "MixCounts",
                                                  "int", "float", "str", "bool", "none",
                                                  "literal", "Literal"))


def read(raw: Any, where: str) -> SpaceFile:
    """The file's content as a SpaceFile, or one ConfigError naming the key path."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    try:
        return SpaceFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {explain(exc)}") from None
    except ConfigError as exc:  # a hyperparameter its setting refuses
        raise ConfigError(f"{where} hyperparameters: {exc}") from None


def explain(exc: ValidationError) -> str:
    """One line for a validation error: an unknown key first, then a broken rule of our
    own, else the most specific complaint (a union's deepest branch)."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return f"unknown key '{_path(unknown[0]['loc'])}'"
    ours = [e for e in errors if e["type"] == "value_error"]
    err = ours[0] if ours else max(errors, key=lambda e: len(e["loc"]))
    message = err["msg"].replace("Value error, ", "")
    return f"{_path(err['loc']) or 'top level'}: {message} (got {err.get('input')!r:.60})"
