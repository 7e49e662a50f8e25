"""`sweeper rank`: candidate intermediate tasks ranked for a target's languages by cheap
signals (sweeper.rank.signals), with no training, and what the ranking cost.

The combined score is the mean of the three signals' z-scores across the candidates
(the language signal itself the mean of its URIEL and subword-overlap parts' z-scores),
so no signal's scale decides. Each signal is kept beside it, for the report to grade
each alone (sweeper.rank.grade).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sweeper.catalog import TIERS, Catalog, TaskSpec
from sweeper.errors import ConfigError, DataError, SweeperError
from sweeper.rank import signals
from sweeper.rank.uriel import SOURCE as URIEL_SOURCE

SIGNALS = ("language", "type", "embedding")
METHOD = ("combined = mean z-score of language (URIEL similarity and subword overlap), "
          "type match, and TextEmb cosine (mean-pooled frozen encoder, "
          f"{signals.SAMPLE} examples per dataset); {URIEL_SOURCE}")


@dataclass
class Ranking:
    """A ranking of candidate tasks for one target and its languages."""

    target: str
    languages: list[str]
    model: str
    data: str
    rows: list[dict[str, Any]]  # best first: task, score, signals, parts
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    method: str = METHOD

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Ranking:
        return cls(**raw)

    def scores(self, signal: str = "score") -> dict[str, float]:
        """Task -> the combined score (or one signal's)."""
        return {r["task"]: (r["score"] if signal == "score" else r["signals"][signal])
                for r in self.rows}


def target_languages(target: TaskSpec, catalog: Catalog, languages: list[str] | None
                     ) -> list[str]:
    """A tier name, group or list, within the target's own non-English languages
    (default: its low-resource ones, else all of them)."""
    own = [c for c in target.languages if c != "en"]
    if not languages:
        low = [c for c in own if catalog.tier(c) == "low"]
        return low or own
    picked = catalog.expand_languages([f"{n}_resource" if n in TIERS else n
                                       for n in languages])
    outside = [c for c in picked if c not in own]
    if outside and not [c for c in picked if c in own]:
        raise ConfigError(f"--languages {','.join(languages)}: none of them is a language of "
                          f"{target.name} ({', '.join(own)})")
    return [c for c in picked if c in own]


def candidates(target: TaskSpec, catalog: Catalog, pool: list[str] | None) -> list[str]:
    """Intermediate tasks that keep `target` zero-shot (the given pool, checked)."""
    names = pool or [t.name for t in catalog.tasks.values() if t.is_intermediate]
    out = []
    for name in names:
        task = catalog.task(name)  # an unknown name: one line
        if not task.is_intermediate:
            raise ConfigError(f"--pool: '{name}' is not an intermediate task")
        if not task.breaks_zero_shot([target.name]):
            out.append(name)
    if not out:
        raise ConfigError(f"nothing to rank for {target.name}: the pool is empty once tasks "
                          "that break zero-shot for it are left out")
    return sorted(out)


class _Texts:
    """Token samples of a task's split in a language, from the features cache."""

    def __init__(self, catalog: Catalog, data: str, tokenizer: Any, cache: Path):
        from sweeper.data.sources import make_source

        self.catalog, self.tokenizer, self.cache = catalog, tokenizer, cache
        self.source = make_source(data, catalog, cache)

    def sample(self, task: TaskSpec, lang: str, splits: tuple[str, ...]) -> list[list[int]]:
        from sweeper.data.features import load_features

        for split in splits:
            try:
                ds = load_features(task, lang, split, source=self.source,
                                   tokenizer=self.tokenizer, max_length=signals.MAX_LENGTH,
                                   cache_root=self.cache)
            except DataError:
                continue
            n = min(signals.SAMPLE, len(ds))
            return signals.first_sequences(ds.select(range(n))[task.kind.text_ids])
        raise DataError(f"{task.name}/{lang}: none of the splits {', '.join(splits)} "
                        "has text to rank with")


def _english_side(target: TaskSpec, catalog: Catalog) -> tuple[TaskSpec, tuple[str, ...]]:
    """Where the target's English training text is (its `train_from` task)."""
    source = catalog.task(target.train_from) if target.train_from not in (None, "en") \
        else target
    return source, ("train", "validation")


def rank(target_name: str, catalog: Catalog, *, languages: list[str] | None = None,
         pool: list[str] | None = None, model: str = "tiny", data: str = "sample",
         cache: Path) -> Ranking:
    """Rank the candidate tasks for `target_name` (see the module docstring)."""
    began = time.perf_counter()
    target = catalog.task(target_name)
    if not target.is_target:
        raise ConfigError(f"'{target_name}' is not a target task (see `sweeper tasks`)")
    langs = target_languages(target, catalog, languages)
    names = candidates(target, catalog, pool)
    tokenizer = _tokenizer(model, catalog, cache)
    texts = _Texts(catalog, data, tokenizer, cache)
    notes: list[str] = []
    seconds: dict[str, float] = {}

    tick = time.perf_counter()
    target_text, english_task, english = _target_texts(target, langs, texts, catalog, notes)
    task_text = {n: texts.sample(catalog.task(n), _text_language(catalog.task(n)), ("train",))
                 for n in names}
    seconds["data"] = time.perf_counter() - tick

    tick = time.perf_counter()
    iso = lambda code: catalog.languages[code].iso639_3  # noqa: E731
    uriel, missing = {}, set()
    for n in names:
        uriel[n], lacking = signals.uriel_similarity(list(_languages_of(catalog.task(n))),
                                                     langs, iso)
        missing |= set(lacking)
    if missing:
        notes.append(f"URIEL lacks {', '.join(sorted(missing))}: ranked by the other signals")
    special = set(tokenizer.all_special_ids)
    lexical = {n: float(np.mean([signals.overlap(task_text[n], target_text[c], special)
                                 for c in langs])) for n in names}
    seconds["language"] = time.perf_counter() - tick

    tick = time.perf_counter()
    embedder = signals.Embedder(model, tokenizer, cache, identity=f"{model}|{data}")
    anchors = [[embedder.vector(f"{english_task.name}/en", english)]] if english else []
    anchors.append([embedder.vector(f"{target.name}/{c}", target_text[c]) for c in langs])
    embedding = {n: float(np.mean([np.mean([signals.cosine(embedder.vector(n, task_text[n]), a)
                                            for a in group]) for group in anchors]))
                 for n in names}
    seconds["embedding"] = time.perf_counter() - tick
    kinds = {n: signals.type_match(catalog.task(n).type, target.type) for n in names}
    rows = _combine(names, catalog, uriel, lexical, kinds, embedding)
    seconds["total"] = time.perf_counter() - began
    return Ranking(target.name, langs, model, data, rows, notes, seconds)


def _tokenizer(model: str, catalog: Catalog, cache: Path) -> Any:
    from sweeper.trial.environment import load_tokenizer

    try:
        return load_tokenizer(model, catalog, cache)
    except SweeperError:
        raise
    except Exception as exc:  # the hub unreachable, a wrong id
        raise ConfigError(f"--model {model}: cannot load its tokenizer ({exc})") from None


def _target_texts(target: TaskSpec, langs: list[str], texts: _Texts, catalog: Catalog,
                  notes: list[str]) -> tuple[dict[str, Any], TaskSpec, Any]:
    """The target languages' text, and the target's English training text (None where
    it has none)."""
    target_text = {}
    for c in langs:
        try:
            target_text[c] = texts.sample(target, c, ("validation", "train"))
        except DataError:  # a retrieval target has only its evaluation split
            target_text[c] = texts.sample(target, c, (target.eval_split,))
            notes.append(f"{target.name}/{c}: text of its {target.eval_split} split (inputs "
                         "only, never a label): it has no other")
    english_task, splits = _english_side(target, catalog)
    try:
        english = texts.sample(english_task, "en", splits) if "en" in english_task.languages \
            or english_task is not target else None
    except DataError:
        english = None
    if english is None:
        notes.append(f"{target.name} has no English training text: the embedding signal "
                     "compares with its target-language text only")
    return target_text, english_task, english


def _combine(names: list[str], catalog: Catalog, uriel: dict[str, float | None],
             lexical: dict[str, float], kinds: dict[str, float], embedding: dict[str, float]
             ) -> list[dict[str, Any]]:
    """Rows best first: the mean of the signals' z-scores, each signal and part beside."""
    z_uriel = signals.zscores([uriel[n] for n in names])
    z_lex = signals.zscores([lexical[n] for n in names])
    language = {n: (zu + zl) / (2 if uriel[n] is not None else 1)
                for n, zu, zl in zip(names, z_uriel, z_lex)}
    parts = {"language": language, "type": kinds, "embedding": embedding}
    z = {s: dict(zip(names, signals.zscores([parts[s][n] for n in names]))) for s in SIGNALS}
    rows = [{"task": n, "score": float(np.mean([z[s][n] for s in SIGNALS])),
             "signals": {s: float(parts[s][n]) for s in SIGNALS},
             "parts": {"uriel": uriel[n], "overlap": lexical[n]},
             "languages": list(_languages_of(catalog.task(n)))} for n in names]
    rows.sort(key=lambda r: (-r["score"], r["task"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows


def _languages_of(task: TaskSpec) -> tuple[str, ...]:
    return ("en",) if task.is_english else tuple(task.languages)


def _text_language(task: TaskSpec) -> str:
    return "en" if task.is_english else task.languages[0]
