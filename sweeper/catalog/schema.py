"""Typed catalog entries: every task and language is data, validated once at load.

Pure module (no torch, ray or mlflow) so listing or validating is instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sweeper import tasktypes, yamlio
from sweeper.errors import ConfigError
from sweeper.names import safe_name

ROLES = ("target", "intermediate", "both")
PROTOCOL_KINDS = ("translate_train", "in_language")
# XTREME's score categories and the synthetic generator's skills: data (words.yaml)
_WORDS = yamlio.load(Path(__file__).with_name("words.yaml"))
CATEGORIES: tuple[str, ...] = tuple(_WORDS["categories"])
SKILLS: tuple[str, ...] = tuple(_WORDS["skills"])  # a task type may bring more


DATA = {"data": True}  # TaskSpec fields that decide a task's rows and features
NOT_IN_KEYS = ("group", "license", "non_commercial")  # can change no result


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


@dataclass(frozen=True)
class HubSpec:
    """Where on the hub one part of a task lives (ANLI+ reads several under one head)."""

    id: str
    config: str | None = None
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    filter: dict[str, str] = field(default_factory=dict)  # column == value, templated
    id_prefix: str | None = None  # keep rows whose `id` starts with this, templated
    # a branch, tag or commit; repos whose main branch holds only a loading script (which
    # datasets 3+ refuses) are read from the hub's parquet conversion, refs/convert/parquet
    revision: str | None = None


@dataclass(frozen=True)
class Selection:
    """Where a target's model-selection (dev) numbers come from: a split of the target
    itself (its per-language dev sets), or of another task (`task`, e.g. SQuAD's English
    dev set for XQuAD, which has one split), limited to `languages` (empty: all);
    `exclude`: a task whose test items came from this set (XQuAD translates 48 articles
    of SQuAD v1.1 dev): the articles holding its contexts are left out of selection."""

    split: str
    task: str | None = None
    languages: tuple[str, ...] = ()
    exclude: str | None = None


@dataclass(frozen=True)
class ProtocolMark:
    """Using this task before one of `targets` is not zero-shot transfer."""

    kind: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class TaskSpec:
    """One catalog task: where its data lives, what it looks like, how it is scored."""

    name: str = field(metadata=DATA)
    role: str
    type: str = field(metadata=DATA)
    metric: str
    languages: tuple[str, ...]
    columns: dict[str, Any] = field(metadata=DATA)
    hub: tuple[HubSpec, ...] = field(metadata=DATA)  # empty: local files only (e.g. CCGbank)
    labels: tuple[str, ...] = field(default=(), metadata=DATA)
    # raw labels are class indices, or names from `labels`
    label_encoding: str = field(default="index", metadata=DATA)
    labels_from_data: bool = field(default=False, metadata=DATA)
    category: str | None = None  # XTREME category of a target
    eval_split: str = "validation"  # the split a target's TEST numbers come from
    selection: Selection | None = None  # a target's dev numbers; None: it has none
    train_from: str | None = None  # target's English training data: "en" or a task name
    epochs: float | None = None  # target fine-tuning epochs (jiant / XTREME settings)
    max_length: int = 256
    train_size: int | None = None  # training examples on the hub (dataset cards): cost estimates
    protocol: tuple[ProtocolMark, ...] = ()  # the targets it is not zero-shot for, and how
    # QA: questions may have no answer (SQuAD v2)
    null_answers: bool = field(default=False, metadata=DATA)
    sample: dict[str, Any] = field(default_factory=dict, metadata=DATA)  # synthetic generator
    # a machine translation of this task's English data (X-STILTs' translated variant)
    translation_of: str | None = None
    card: str | None = None  # the dataset card its hub fields were checked against
    # the data's licence as its card states it: an SPDX id, "unknown", or "custom: <what>"
    license: str = "unknown"
    non_commercial: bool = False  # also when the licence text does not say so (derived data)
    group: str = ""  # the catalog file it came from (targets, english_intermediate, ...)

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


def _require(entry: dict, key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise ConfigError(f"{where}: missing required field '{key}'")
    return entry[key]


def _choice(value: Any, allowed: tuple[str, ...], where: str, key: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {key} '{value}' is not one of {', '.join(allowed)}")
    return value


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def parse_hub(raw: Any, where: str) -> tuple[HubSpec, ...]:
    """`hub:` is null (local only), one source mapping, or a list of them."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        allowed = {"id", "config", "splits", "filter", "id_prefix", "revision"}
        unknown = set(item) - allowed
        if unknown:
            raise ConfigError(f"{where}: unknown hub field(s) {sorted(unknown)}")
        splits = {k: _as_tuple(v) for k, v in _require(item, "splits", where).items()}
        out.append(HubSpec(id=_require(item, "id", where), config=item.get("config"),
                             splits=splits, filter=dict(item.get("filter") or {}),
                             id_prefix=item.get("id_prefix"), revision=item.get("revision")))
    return tuple(out)


TASK_FIELDS = {f for f in TaskSpec.__dataclass_fields__} - {"group"}


def _columns(entry: dict, kind: tasktypes.TaskType, where: str) -> dict[str, Any]:
    """The entry's column mapping, checked against its type's canonical columns."""
    columns = dict(_require(entry, "columns", where))
    missing = [c for c in kind.columns if c not in columns]
    extra = set(columns) - set(kind.columns) - set(kind.optional)
    if missing or extra:
        raise ConfigError(f"{where}: columns for type {kind.name} need {list(kind.columns)}"
                          f" (missing {missing}, unexpected {sorted(extra)})")
    return columns


def _protocol(entry: dict, where: str) -> tuple[ProtocolMark, ...]:
    marks = entry.get("protocol") or []
    marks = marks if isinstance(marks, list) else [marks]
    return tuple(ProtocolMark(kind=_choice(p.get("kind"), PROTOCOL_KINDS, where, "protocol kind"),
                              targets=tuple(_require(p, "targets", where)))
                 for p in marks)


def _selection(entry: dict, where: str) -> Selection | None:
    raw = entry.get("selection")
    if not raw:
        return None
    if not isinstance(raw, dict) or set(raw) - {"split", "task", "languages", "exclude"}:
        raise ConfigError(f"{where}: selection takes {{split, task, languages, exclude}}")
    return Selection(split=str(_require(raw, "split", where)), task=raw.get("task"),
                     languages=tuple(raw.get("languages") or ()), exclude=raw.get("exclude"))


def _license(value: Any, where: str) -> str:
    """An SPDX id (no spaces), `unknown`, or `custom: <what>`."""
    text = str(value).strip()
    if text == "unknown" or text.startswith("custom: ") or (text and " " not in text):
        return text
    raise ConfigError(f"{where}: license '{text}' is not an SPDX id, 'unknown' or "
                      "'custom: <what>'")


def _check_target(spec: TaskSpec, entry: dict, where: str) -> None:
    if not spec.kind.evaluates:
        raise ConfigError(f"{where}: type {spec.type} has no evaluator and cannot be a target")
    if "selection" not in entry:
        raise ConfigError(f"{where}: a target needs `selection` (its dev split, another "
                          "task's split, or null for none)")
    if spec.category not in CATEGORIES:
        raise ConfigError(f"{where}: a target needs a category in {CATEGORIES}")
    if spec.needs_training and not spec.train_from:
        raise ConfigError(f"{where}: a trained target needs `train_from` (en or a task)")


def parse_task(entry: dict, group: str) -> TaskSpec:
    """Validate one YAML entry into a TaskSpec; unknown fields are errors."""
    name = safe_name(_require(entry, "name", f"catalog {group}"), f"catalog {group}: task")
    where = f"catalog task '{name}'"
    unknown = set(entry) - TASK_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    kind = tasktypes.get(_choice(_require(entry, "type", where), tasktypes.names(), where,
                                 "type"))
    labels = tuple(str(x) for x in entry.get("labels") or ())
    if kind.labelled and not labels and not entry.get("labels_from_data"):
        raise ConfigError(f"{where}: type {kind.name} needs a `labels` list")
    sample = dict(entry.get("sample") or {})
    _choice(sample.get("skill"), skills(), where, "sample skill")
    spec = TaskSpec(
        name=name, role=_choice(_require(entry, "role", where), ROLES, where, "role"),
        type=kind.name,
        metric=_choice(_require(entry, "metric", where), kind.metrics, where, "metric"),
        languages=tuple(_require(entry, "languages", where)),
        columns=_columns(entry, kind, where), hub=parse_hub(entry.get("hub"), where),
        labels=labels,
        label_encoding=_choice(entry.get("label_encoding", "index"), ("index", "name"), where,
                               "label_encoding"),
        labels_from_data=bool(entry.get("labels_from_data", False)),
        category=entry.get("category"), eval_split=entry.get("eval_split", "validation"),
        train_from=entry.get("train_from"), epochs=entry.get("epochs"),
        max_length=int(entry.get("max_length", 256)),
        train_size=int(entry["train_size"]) if entry.get("train_size") else None,
        selection=_selection(entry, where), protocol=_protocol(entry, where),
        null_answers=bool(entry.get("null_answers", False)), sample=sample,
        translation_of=entry.get("translation_of"), card=entry.get("card"), group=group,
        license=_license(_require(entry, "license", where), where),
        non_commercial=bool(entry.get("non_commercial", False)))
    if spec.is_target:
        _check_target(spec, entry, where)
    return spec
