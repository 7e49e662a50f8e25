"""Typed catalog entries: every task and language is data, validated once at load.

The types are pydantic dataclasses (as search-space files and trial settings are read
by pydantic): a wrong type, a value outside its choices or a column its task type does
not know fails when the entry is built (sweeper.catalog.entries reads the YAML). What
needs the whole catalog (languages, training sources, selection tasks) is checked
after, in `sweeper.catalog`. Pure module (no torch, ray or mlflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, field_validator, model_validator
from pydantic.dataclasses import dataclass as checked

from sweeper import tasktypes, yamlio

ROLES = ("target", "intermediate", "both")
PROTOCOL_KINDS = ("translate_train", "in_language")
# XTREME's score categories and the synthetic generator's skills: data (words.yaml)
_WORDS = yamlio.load(Path(__file__).with_name("words.yaml"))
CATEGORIES: tuple[str, ...] = tuple(_WORDS["categories"])
SKILLS: tuple[str, ...] = tuple(_WORDS["skills"])  # a task type may bring more


DATA = {"data": True}  # TaskSpec fields that decide a task's rows and features
NOT_IN_KEYS = ("group", "license", "non_commercial")  # can change no result
STRICT = ConfigDict(extra="forbid")


def _tuple(value: Any) -> Any:
    """A scalar where a list belongs is a one-element list."""
    return value if isinstance(value, (list, tuple)) else (value,)


def _items(value: Any) -> Any:
    """None, one mapping, or a list of them."""
    return () if value is None else value if isinstance(value, (list, tuple)) else (value,)


Names = Annotated[tuple[str, ...], BeforeValidator(_tuple)]


@dataclass(frozen=True)
class Language:
    """A language code with the corpus size its resource tier is derived from."""

    code: str
    name: str  # English name, as in udpos.<Name> hub configs
    tatoeba: str  # code of its tatoeba.<code> hub config
    iso639_3: str  # the individual-language ISO 639-3 code (URIEL's key: sweeper.rank)
    size: float  # CC-100 GiB (the size table's bytes column)
    tokens: float  # CC-100 millions of tokens (see catalog.resource_tokens); 0: not in CC-100
    tier: str  # low / mid / high, derived from tokens and the tier thresholds


@checked(frozen=True, config=STRICT)
class HubSpec:
    """Where on the hub one part of a task lives (ANLI+ reads several under one head)."""

    id: str
    config: str | None = None
    splits: dict[str, Names] = field(default_factory=dict)
    filter: dict[str, str] = field(default_factory=dict)  # column == value, templated
    id_prefix: str | None = None  # keep rows whose `id` starts with this, templated
    # a branch, tag or commit; repos whose main branch holds only a loading script (which
    # datasets 3+ refuses) are read from the hub's parquet conversion, refs/convert/parquet
    revision: str | None = None


@checked(frozen=True, config=STRICT)
class Selection:
    """Where a target's model-selection (dev) numbers come from: a split of the target
    itself (its per-language dev sets), or of another task (`task`, e.g. SQuAD's English
    dev set for XQuAD, which has one split), limited to `languages` (empty: all);
    `exclude`: a task whose test items came from this set (XQuAD translates 48 articles
    of SQuAD v1.1 dev): the articles holding its contexts are left out of selection."""

    split: str
    task: str | None = None
    languages: Names = ()
    exclude: str | None = None


@checked(frozen=True, config=STRICT)
class ProtocolMark:
    """Using this task before one of `targets` is not zero-shot transfer."""

    kind: Literal["translate_train", "in_language"]
    targets: Names


def _license(value: Any) -> str:
    """An SPDX id (no spaces), `unknown`, or `custom: <what>`."""
    text = str(value).strip()
    if text == "unknown" or text.startswith("custom: ") or (text and " " not in text):
        return text
    raise ValueError(f"license '{text}' is not an SPDX id, 'unknown' or 'custom: <what>'")


@checked(frozen=True, config=STRICT)
class TaskSpec:
    """One catalog task: where its data lives, what it looks like, how it is scored."""

    name: str = field(metadata=DATA)
    role: Literal["target", "intermediate", "both"]
    type: str = field(metadata=DATA)
    metric: str
    languages: Names
    columns: dict[str, Any] = field(metadata=DATA)
    # empty: local files only (e.g. CCGbank)
    hub: Annotated[tuple[HubSpec, ...], BeforeValidator(_items)] = field(metadata=DATA)
    labels: Annotated[tuple[str, ...], BeforeValidator(lambda v: tuple(
        str(x) for x in v or ()))] = field(default=(), metadata=DATA)
    # raw labels are class indices, or names from `labels`
    label_encoding: Literal["index", "name"] = field(default="index", metadata=DATA)
    labels_from_data: bool = field(default=False, metadata=DATA)
    category: str | None = None  # XTREME category of a target
    eval_split: str = "validation"  # the split a target's TEST numbers come from
    # a target's dev numbers; None: it has none
    selection: Annotated[Selection | None, BeforeValidator(lambda v: v or None)] = None
    train_from: str | None = None  # target's English training data: "en" or a task name
    epochs: float | None = None  # target fine-tuning epochs (jiant / XTREME settings)
    max_length: int = 256
    # training examples on the hub (dataset cards): cost estimates
    train_size: Annotated[int | None, BeforeValidator(lambda v: v or None)] = None
    # the targets it is not zero-shot for, and how
    protocol: Annotated[tuple[ProtocolMark, ...], BeforeValidator(_items)] = ()
    # QA: questions may have no answer (SQuAD v2)
    null_answers: bool = field(default=False, metadata=DATA)
    # the synthetic generator's settings
    sample: Annotated[dict[str, Any], BeforeValidator(lambda v: v or {})] = field(
        default_factory=dict, metadata=DATA)
    # a machine translation of this task's English data (X-STILTs' translated variant)
    translation_of: str | None = None
    card: str | None = None  # the dataset card its hub fields were checked against
    # the data's licence as its card states it: an SPDX id, "unknown", or "custom: <what>"
    license: Annotated[str, BeforeValidator(_license)] = "unknown"
    non_commercial: bool = False  # also when the licence text does not say so (derived data)
    group: str = ""  # the catalog file it came from (targets, english_intermediate, ...)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in tasktypes.names():
            raise ValueError(f"type '{value}' is not one of {', '.join(tasktypes.names())}")
        return value

    @model_validator(mode="after")
    def _fits_its_type(self) -> "TaskSpec":
        kind = self.kind
        if self.metric not in kind.metrics:
            raise ValueError(f"metric '{self.metric}' is not one of {', '.join(kind.metrics)}")
        missing = [c for c in kind.columns if c not in self.columns]
        extra = set(self.columns) - set(kind.columns) - set(kind.optional)
        if missing or extra:
            raise ValueError(f"columns for type {kind.name} need {list(kind.columns)} "
                             f"(missing {missing}, unexpected {sorted(extra)})")
        if kind.labelled and not self.labels and not self.labels_from_data:
            raise ValueError(f"type {kind.name} needs a `labels` list")
        if self.sample.get("skill") not in skills():
            raise ValueError(f"sample skill '{self.sample.get('skill')}' is not one of "
                             f"{', '.join(skills())}")
        if self.is_target:
            _check_target(self)
        return self

    @property
    def is_target(self) -> bool:
        return self.role in ("target", "both")

    @property
    def is_intermediate(self) -> bool:
        return self.role in ("intermediate", "both")

    @property
    def is_english(self) -> bool:
        return self.languages == ("en",)

    @property
    def is_translated(self) -> bool:
        return self.translation_of is not None

    @property
    def kind(self) -> tasktypes.TaskType:
        """The task type's object (sweeper.tasktypes): columns, features, head, evaluator."""
        return tasktypes.get(self.type)

    @property
    def needs_training(self) -> bool:
        """Targets of a type that trains nothing (retrieval) are evaluated straight after
        the intermediate phase."""
        return self.kind.trains

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def splits(self) -> set[str]:
        """Split names (train / validation / test) this task provides."""
        return {s for src in self.hub for s in src.splits} if self.hub else {"train", "validation"}

    def fingerprint(self, data_only: bool = False) -> str:
        """Hash of the entry (where the catalog file sits excluded); `data_only`: of the
        fields that decide its rows and features (hub spec, columns, label encoding)."""
        from sweeper.digest import digest

        return digest({f.name: getattr(self, f.name) for f in fields(self)
                       if f.name not in NOT_IN_KEYS and (not data_only or f.metadata.get("data"))})

    @property
    def is_non_commercial(self) -> bool:
        """Its data may not be used commercially (an NC licence, or said so)."""
        text = self.license.lower()
        return self.non_commercial or "-nc" in text or "non-commercial" in text

    def breaks_zero_shot(self, targets: list[str] | tuple[str, ...]) -> list[str]:
        """The given targets for which training on this task is not zero-shot."""
        return [t for t in targets if self.protocol_kind(t)]

    def protocol_kind(self, target: str) -> str | None:
        """translate_train / in_language when this task breaks zero-shot for `target`."""
        return next((m.kind for m in self.protocol if target in m.targets), None)


def skills() -> tuple[str, ...]:
    """The generator's skills and those the task types bring."""
    extra = [k for t in tasktypes.registry().values() for k in t.sample_skills]
    return SKILLS + tuple(k for k in extra if k not in SKILLS)


def _check_target(spec: TaskSpec) -> None:
    if not spec.kind.evaluates:
        raise ValueError(f"type {spec.type} has no evaluator and cannot be a target")
    if spec.category not in CATEGORIES:
        raise ValueError(f"a target needs a category in {CATEGORIES}")
    if spec.needs_training and not spec.train_from:
        raise ValueError("a trained target needs `train_from` (en or a task)")
