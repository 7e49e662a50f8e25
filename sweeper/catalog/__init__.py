"""The task and language catalog, loaded from the YAML files beside this module.

`load_catalog()` reads and validates everything once; tasks, languages, tiers and
groups are data in YAML, never Python literals.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

from sweeper import yamlio
from sweeper.catalog.entries import parse_task
from sweeper.catalog.schema import (
    HubSpec,
    Language,
    ProtocolMark,
    Selection,
    TaskSpec,
)
from sweeper.errors import ConfigError
from sweeper.names import safe_name

__all__ = ["Catalog", "HubSpec", "Language", "ProtocolMark", "Selection", "TaskSpec",
           "load_catalog"]

HERE = Path(__file__).parent
TIERS = ("low", "mid", "high")


@dataclass(frozen=True)
class Catalog:
    """Every known task and language, with resource tiers and named language groups."""

    tasks: dict[str, TaskSpec]
    languages: dict[str, Language]
    groups: dict[str, tuple[str, ...]]
    size_source: str

    def task(self, name: str) -> TaskSpec:
        """The task called `name`, or a one-line error listing close names."""
        if name not in self.tasks:
            raise ConfigError(f"unknown task '{name}' (see `sweeper tasks`)")
        return self.tasks[name]

    def targets(self) -> list[TaskSpec]:
        return [t for t in self.tasks.values() if t.is_target]

    def intermediates(self) -> list[TaskSpec]:
        return [t for t in self.tasks.values() if t.is_intermediate]

    def expand_languages(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """Language codes for a mix of codes and group names, in first-seen order."""
        out: list[str] = []
        for name in names:
            if name in self.groups:
                codes = self.groups[name]
            elif name in self.languages:
                codes = (name,)
            else:
                raise ConfigError(f"unknown language or language group '{name}' "
                                  f"(groups: {', '.join(sorted(self.groups))})")
            out.extend(c for c in codes if c not in out)
        return out

    def tier(self, lang: str) -> str:
        return self.languages[lang].tier

    def splits_read(self, task: TaskSpec, lang: str) -> set[str]:
        """The splits of `task` in `lang` a run may read: an intermediate task's training
        split; a target's test split, its selection split where it selects on itself in
        `lang`, its training split in English; and any split other targets train or
        select on."""
        out: set[str] = {"train"} if task.is_intermediate else set()
        if task.is_target:
            out.add(task.eval_split)
        for target in self.targets():
            if target.train_from == task.name or (target is task and target.train_from == "en"):
                if lang == "en":
                    out.add("train")
            sel = target.selection
            if sel and (sel.task or target.name) == task.name and (
                    not sel.languages or lang in sel.languages):
                out.add(sel.split)
        return out

    def parallel_data_seen(self, tasks: list[str] | tuple[str, ...], target: str
                           ) -> tuple[str, ...]:
        """Languages of `target` (one that scores translation pairs: BUCC, Tatoeba) in
        which `tasks` hold a machine-translated task together with its English source:
        parallel text in that language, which zero-shot retrieval must not have seen."""
        from sweeper import tasktypes

        spec = self.task(target)
        if not tasktypes.get(spec.type).scores_translations:
            return ()
        names = set(tasks)
        seen = {lang for t in names for lang in self.task(t).languages
                if self.task(t).translation_of in names}
        return tuple(lang for lang in spec.languages if lang in seen)

    def train_task(self, target: TaskSpec) -> tuple[TaskSpec, str]:
        """The task and language whose training split fine-tunes `target` (English)."""
        if target.train_from == "en":
            return target, "en"
        return self.task(target.train_from), "en"


def resource_tokens(raw: dict) -> dict[str, float]:
    """Millions of CC-100 tokens per language, as the size table says them, except for
    languages written without spaces between words (`segmented: false`), whose
    whitespace token counts say little: their GiB times the median tokens per GiB of the
    segmented languages. Languages outside CC-100 have 0."""
    langs = raw["languages"]
    per_gib = sorted(v["tokens"] / v["size"] for v in langs.values()
                     if v.get("segmented", True) and v["size"] > 0 and v["tokens"] > 0)
    median = per_gib[len(per_gib) // 2] if per_gib else 0.0
    return {code: float(v["tokens"]) if v.get("segmented", True) else float(v["size"]) * median
            for code, v in langs.items()}


def _load_languages(path: Path) -> tuple[dict[str, Language], dict[str, tuple[str, ...]], str]:
    raw = yamlio.load(path)
    bounds = {k: float(v) for k, v in raw["tiers"].items()}
    if tuple(bounds) != TIERS:
        raise ConfigError(f"{path.name}: tiers must be {TIERS} in that order")

    def tier_of(tokens: float) -> str:
        return next(t for t in TIERS if tokens < bounds[t] or math.isinf(bounds[t]))

    for code, v in raw["languages"].items():
        safe_name(code, f"{path.name}: language")
        missing = [k for k in ("name", "tatoeba", "iso639_3", "tokens", "size") if k not in v]
        if missing:
            raise ConfigError(f"{path.name}: language '{code}' lacks {missing}")
    tokens = resource_tokens(raw)
    langs = {code: Language(code=code, name=v["name"], tatoeba=v["tatoeba"],
                            iso639_3=v["iso639_3"], size=float(v["size"]), tokens=tokens[code],
                            tier=tier_of(tokens[code]))
             for code, v in raw["languages"].items()}
    groups: dict[str, tuple[str, ...]] = {"all": tuple(langs)}
    for t in TIERS:
        groups[f"{t}_resource"] = tuple(c for c, lang in langs.items() if lang.tier == t)
    for name, codes in (raw.get("groups") or {}).items():
        unknown = [c for c in codes if c not in langs]
        if unknown:
            raise ConfigError(f"{path.name}: group '{name}' has unknown languages {unknown}")
        groups[name] = tuple(codes)
    return langs, groups, raw["source"]["name"]


def _cross_check(tasks: dict[str, TaskSpec], langs: dict[str, Language]) -> None:
    """Checks that need the whole catalog: languages, training sources, protocol targets."""
    for t in tasks.values():
        where = f"catalog task '{t.name}'"
        bad = [c for c in t.languages if c not in langs]
        if bad:
            raise ConfigError(f"{where}: unknown languages {bad}")
        if t.train_from and t.train_from != "en":
            if t.train_from not in tasks:
                raise ConfigError(f"{where}: train_from '{t.train_from}' is not a catalog task")
            src = tasks[t.train_from]
            if src.type != t.type or (src.labels and src.labels != t.labels and
                                      src.num_labels != t.num_labels):
                raise ConfigError(f"{where}: train_from '{src.name}' has another type or labels")
        if t.train_from == "en" and "en" not in t.languages:
            raise ConfigError(f"{where}: trains on its English data but lists no 'en'")
        if t.translation_of is not None:
            src = tasks.get(t.translation_of)
            if src is None or "en" not in src.languages or src.type != t.type or t.is_english:
                raise ConfigError(f"{where}: translation_of '{t.translation_of}' is not a "
                                  "task with English data of the same type")
        for mark in t.protocol:
            bad = [x for x in mark.targets if x not in tasks]
            if bad:
                raise ConfigError(f"{where}: protocol names unknown targets {bad}")
        if t.hub and t.is_target and t.eval_split not in t.splits():
            raise ConfigError(f"{where}: eval_split '{t.eval_split}' is not among its splits")
        sel = t.selection
        if sel is not None:
            source = tasks.get(sel.task or t.name)
            if source is None:
                raise ConfigError(f"{where}: selection task '{sel.task}' is not a catalog task")
            if source.hub and sel.split not in source.splits():
                raise ConfigError(f"{where}: selection split '{sel.split}' is not among the "
                                  f"splits of '{source.name}'")
            if sel.task is None and sel.split == t.eval_split:
                raise ConfigError(f"{where}: selection split is the test split")
            if sel.exclude is not None and (sel.exclude not in tasks or "title" not in
                                            source.columns):
                raise ConfigError(f"{where}: selection excludes the articles of "
                                  f"'{sel.exclude}': it must be a catalog task, and "
                                  f"'{source.name}' must map a title column")
            bad = [c for c in sel.languages if c not in t.languages or c not in source.languages]
            if bad:
                raise ConfigError(f"{where}: selection languages {bad} are not languages of "
                                  f"both '{t.name}' and '{source.name}'")


@functools.lru_cache(maxsize=4)
def load_catalog(root: str | None = None) -> Catalog:
    """Read and validate the catalog (cached; `root` overrides the packaged folder)."""
    base = Path(root) if root else HERE
    langs, groups, source = _load_languages(base / "languages.yaml")
    tasks: dict[str, TaskSpec] = {}
    for path in sorted((base / "tasks").glob("*.yaml")):
        raw = yamlio.load(path)
        unknown = set(raw) - {"tasks", "bases"}
        if unknown:
            raise ConfigError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}")
        for entry in raw["tasks"]:
            spec = parse_task(dict(entry), path.stem)
            if spec.name in tasks:
                raise ConfigError(f"{path.name}: task '{spec.name}' is defined twice")
            tasks[spec.name] = spec
    _cross_check(tasks, langs)
    return Catalog(tasks=tasks, languages=langs, groups=groups, size_source=source)
