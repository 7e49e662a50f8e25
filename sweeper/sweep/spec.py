"""Search-space files (search_spaces/*.yaml): the sweep's schema, validated at load.

A file says which model, data and targets; the intermediate pool and HOW MANY tasks
(counts, 0 = baseline) and WHICH (sampled under a seed, or fixed sets); their language
mix; hyperparameters (fixed or distributions); seeds; the search algorithm; resources.
Unknown keys, unknown tasks or languages, empty pools, counts larger than a pool and
bad ranges are errors. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sweeper.catalog import Catalog
from sweeper.errors import ConfigError
from sweeper.sweep import schema
from sweeper.trial.settings import SETTINGS, TrialSettings, lookup, parse_value

# Settings a space decides itself; every other trial setting is a hyperparameter.
NOT_HYPER = {"targets", "intermediate", "model", "data", "local_data", "eval_languages", "seed"}
HYPER = [name for name in SETTINGS if name not in NOT_HYPER]


@dataclass(frozen=True)
class Distribution:
    """A hyperparameter searched over: uniform/loguniform [low, high], int, or choice."""

    kind: str
    values: tuple


@dataclass
class SweepSpec:
    """A validated search-space file."""

    name: str
    description: str
    model: str
    data: str
    targets: list[str]
    eval_languages: list[str]
    objective_languages: str  # group or language the objective averages over
    objective_metric: str  # "score" (dev score) or "gain" (dev gain over the baseline)
    mode: str
    pool: dict[str, list[str]]  # mix -> tasks it may draw from
    counts: dict[str, list[int]]  # mix -> task counts
    fixed_sets: list[list[str]]  # explicit task lists (used instead of sampling if given)
    allow_protocol_breaking: bool
    fixed: dict[str, Any]  # hyperparameters with one value
    searched: dict[str, Distribution]
    seeds: list[int]
    algorithm: str
    num_samples: int
    max_concurrent: int
    scheduler: dict[str, Any] | None
    resources: dict[str, float]
    draws: int = 1  # grid: task subsets drawn per (mix, count)
    source_path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def base_settings(self) -> TrialSettings:
        """Trial settings shared by every trial of the sweep."""
        return TrialSettings.build(targets=list(self.targets), model=self.model, data=self.data,
                                   eval_languages=list(self.eval_languages), **self.fixed)

    def objective_targets(self, catalog: Catalog) -> tuple[list[str], dict[str, str]]:
        """(targets whose DEV numbers enter the objective, {target: why it stays out})."""
        wanted = set(catalog.expand_languages([self.objective_languages]))
        evaluated = set(catalog.expand_languages(self.eval_languages)) if self.eval_languages \
            else None
        inside, outside = [], {}
        for name in self.targets:
            task = catalog.task(name)
            if task.selection is None:
                outside[name] = "it has no selection (dev) split"
                continue
            langs = set(task.selection.languages or task.languages) & wanted
            if evaluated is not None:
                langs &= evaluated
            if langs:
                inside.append(name)
            else:
                outside[name] = (f"its dev split has none of the objective languages "
                                 f"'{self.objective_languages}'")
        return inside, outside

    def describe(self) -> str:
        sets = (f"{len(self.fixed_sets)} fixed task sets" if self.fixed_sets else
                "; ".join(f"{m}: pool {len(self.pool[m])}, counts {self.counts[m]}"
                          for m in self.counts))
        search = (self.algorithm if self.algorithm == "grid" else
                  f"{self.algorithm}, num_samples {self.num_samples}")
        return (f"{self.name}: targets {','.join(self.targets)}; {sets}; "
                f"{len(self.seeds)} seed(s); {search}")


def _distribution(key: str, dist: schema.Distribution, where: str) -> Distribution:
    """A searched setting, every value it can take checked against the setting's range."""
    kind, values = dist.kind, dist.values
    if kind == "choice":
        return Distribution(kind, tuple(_checked(key, v, where) for v in values))
    low, high = values
    _checked(key, low, where)
    _checked(key, high, where)
    if kind == "int" and not lookup(key).type.startswith("int"):
        raise ConfigError(f"{where}: '{key}' is not an integer setting: use uniform")
    if kind != "int" and not lookup(key).type.startswith(("float", "int")):
        raise ConfigError(f"{where}: '{key}' is not numeric: use choice")
    return Distribution(kind, (low, high))


def _checked(key: str, value: Any, where: str) -> Any:
    try:
        return parse_value(key, value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _pool(catalog: Catalog, names: list[str], targets: list[str], allow: bool,
          where: str) -> list[str]:
    """Expand `english` / `non_english` / `all` / `translated` / `mlm` and task names; drop
    protocol breakers."""
    out: list[str] = []
    for name in names:
        if name in ("english", "non_english", "all"):  # labelled tasks
            tasks = [t.name for t in catalog.intermediates() if t.type != "mlm" and
                     (name == "all" or t.is_english == (name == "english"))]
        elif name == "translated":  # machine translations of English tasks
            tasks = [t.name for t in catalog.intermediates() if t.is_translated]
        elif name == "mlm":  # masked language modelling on running text, per language
            tasks = [t.name for t in catalog.intermediates() if t.type == "mlm"]
        else:
            task = catalog.task(name)
            if not task.is_intermediate:
                raise ConfigError(f"{where}: '{name}' is not an intermediate task")
            tasks = [name]
        out.extend(t for t in tasks if t not in out)
    breaking = [t for t in out if catalog.task(t).breaks_zero_shot(targets)]
    if breaking and not allow:
        named = [t for t in breaking if t in names]
        if named:
            raise ConfigError(f"{where}: {named} break zero-shot for {targets} "
                              "(set allow_protocol_breaking: true to use them)")
        out = [t for t in out if t not in breaking]
    return out



def _counts(raw: Any) -> list[int] | None:
    if raw is None:
        return None
    if isinstance(raw, schema.CountRange):
        lo, hi = raw.min, raw.max
        values = ({0} | {2 ** i for i in range(hi.bit_length())}) if raw.log else range(lo, hi + 1)
        return sorted(c for c in values if lo <= c <= hi)
    return sorted(set(raw))


def _intermediate(raw: schema.Intermediate, catalog: Catalog, targets: list[str], where: str
                  ) -> tuple[dict, dict, list, bool, int]:
    allow = raw.allow_protocol_breaking
    sets = [list(s) for s in raw.sets]
    for s in sets:
        for name in s:
            if not catalog.task(name).is_intermediate:
                raise ConfigError(f"{where}: '{name}' in sets is not an intermediate task")
            if catalog.task(name).breaks_zero_shot(targets) and not allow:
                raise ConfigError(f"{where}: '{name}' breaks zero-shot for {targets} "
                                  "(set allow_protocol_breaking: true to use it)")
    for name in raw.exclude:
        catalog.task(name)  # an unknown name is an error, not silently nothing
    base = [t for t in _pool(catalog, list(raw.pool), targets, allow, where)
            if t not in raw.exclude]
    mixes = raw.language_mix
    if isinstance(mixes, list):
        mixes = {m: None for m in mixes}
    pool, counts = {}, {}
    for mix, override in mixes.items():
        cs = _counts(override.counts if override is not None and override.counts is not None
                     else raw.counts)
        if cs is None:
            if sets:
                continue
            raise ConfigError(f"{where}: give `counts` (how many tasks per trial)")
        tasks = [t for t in base
                 if mix == "mixed" or catalog.task(t).is_english == (mix == "english")]
        if not tasks and any(cs):
            raise ConfigError(f"{where}: the {mix} pool is empty")
        if max(cs) > len(tasks):
            raise ConfigError(f"{where}: count {max(cs)} is larger than the {mix} pool "
                              f"({len(tasks)} tasks: {', '.join(tasks)})")
        pool[mix], counts[mix] = tasks, cs
    if not sets and not counts:
        raise ConfigError(f"{where}: needs `sets` or `counts`")
    return pool, counts, sets, allow, raw.draws


def _compute(raw: schema.Intermediate) -> dict[str, Any]:
    """`budget: {steps: N}` and `examples_cap: N`: the intermediate phase's compute held
    constant, so that more tasks does not mean more steps."""
    fixed: dict[str, Any] = {}
    if raw.budget is not None:
        fixed["intermediate_steps"] = raw.budget.steps
    if raw.examples_cap is not None:
        fixed["examples_cap"] = raw.examples_cap
    return fixed


def parse_spec(raw: Any, catalog: Catalog, name_hint: str = "") -> SweepSpec:
    """Validate a loaded YAML mapping into a SweepSpec: its shape (sweep.schema), then
    the catalog's names and the trial settings' ranges."""
    where = f"search space '{name_hint}'"
    f = schema.read(raw, where)
    targets = list(f.targets)
    for t in targets:
        if not catalog.task(t).is_target:
            raise ConfigError(f"{where}: '{t}' is not a target task")
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: targets repeat: {targets}")
    eval_langs = list(f.eval_languages)
    evaluated = set(catalog.expand_languages(eval_langs))
    for t in targets:
        if eval_langs and not evaluated & set(catalog.task(t).languages):
            raise ConfigError(f"{where}: eval_languages {eval_langs} include none of {t}'s "
                              "languages")
    obj_langs = f.objective.languages
    wanted = set(catalog.expand_languages([obj_langs]))
    for t in targets:
        if not wanted & set(catalog.task(t).languages):
            raise ConfigError(f"{where}: objective languages '{obj_langs}' include none of "
                              f"{t}'s languages")
    pool, counts, sets, allow, draws = _intermediate(f.intermediate, catalog, targets,
                                                     f"{where} intermediate")
    fixed, searched = _compute(f.intermediate), {}
    for task in f.local:
        catalog.task(task)
    if f.local:  # per-task local folders beside the space's source
        fixed["local_data"] = [f"{t}={Path(d).expanduser()}" for t, d in f.local.items()]
    for key, value in f.hyperparameters.items():
        if key not in HYPER:
            raise ConfigError(f"{where}: '{key}' is not a hyperparameter "
                              f"(known: {', '.join(HYPER)})")
        if isinstance(value, schema.Distribution):
            searched[key] = _distribution(key, value, f"{where} hyperparameters")
        else:
            fixed[key] = _checked(key, value, f"{where} hyperparameters")
    algorithm, scheduler = f.search.algorithm, f.search.scheduler
    if algorithm == "grid" and searched:
        bad = [k for k, d in searched.items() if d.kind != "choice"]
        if bad:
            raise ConfigError(f"{where}: grid search needs `choice` hyperparameters, not {bad}")
    res_default = {"cpu": 1.0, "gpu": 0.0} if f.model == "tiny" else {"cpu": 4.0, "gpu": 1.0}
    resources = {**res_default, **{k: v for k, v in f.resources.model_dump().items()
                                   if v is not None}}
    spec = SweepSpec(
        name=f.name or name_hint, description=f.description, model=f.model, data=f.data,
        targets=targets, eval_languages=eval_langs, objective_languages=obj_langs,
        objective_metric=f.objective.metric, mode=f.objective.mode, pool=pool,
        counts=counts, fixed_sets=sets, allow_protocol_breaking=allow, fixed=fixed,
        searched=searched, seeds=list(f.seeds), algorithm=algorithm,
        num_samples=f.search.num_samples, max_concurrent=f.search.max_concurrent,
        scheduler=scheduler.model_dump() if scheduler else None, resources=resources,
        draws=draws, raw=raw)
    spec.base_settings().validate(catalog)
    inside, outside = spec.objective_targets(catalog)
    if not inside and (algorithm != "grid" or scheduler is not None):
        raise ConfigError(f"{where}: no target has dev numbers for the objective "
                          f"({'; '.join(f'{t}: {why}' for t, why in outside.items())}); the "
                          "search and scheduler would have nothing to select on")
    return spec


def load_spec(path: str | Path, catalog: Catalog, overrides: list[str] | None = None
              ) -> SweepSpec:
    """Read and validate a search-space file; `overrides` are dotted key=value strings."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search-space file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{at}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for pair in overrides or []:
        key, sep, value = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError(f"--set expects key=value (dotted key), got '{pair}'")
        node = raw
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: '{'.'.join(parts[:i + 1])}' is not a mapping "
                                  "in the search space")
        try:
            node[parts[-1]] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: cannot read '{value}'") from None
    spec = parse_spec(raw, catalog, path.stem)
    spec.source_path = str(path.resolve())
    return spec
