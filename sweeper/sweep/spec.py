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
from sweeper.trial.settings import SETTINGS, TrialSettings, parse_value

MIXES = ("english", "non_english", "mixed")
OBJECTIVE_METRICS = ("score", "gain")
ALGORITHMS = ("optuna", "random", "grid")
DISTRIBUTIONS = ("uniform", "loguniform", "choice", "int")
TOP_KEYS = {"name", "description", "model", "data", "targets", "eval_languages", "objective",
            "intermediate", "hyperparameters", "seeds", "search", "resources"}
# Settings a space decides itself; every other trial setting is a hyperparameter.
NOT_HYPER = {"targets", "intermediate", "model", "data", "eval_languages", "seed"}
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


def _unknown(section: dict, allowed: set[str], where: str) -> None:
    extra = set(section) - allowed
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)} (allowed: {sorted(allowed)})")


def _distribution(key: str, raw: Any, where: str) -> Distribution | None:
    if not isinstance(raw, dict):
        return None
    if len(raw) != 1 or next(iter(raw)) not in DISTRIBUTIONS:
        raise ConfigError(f"{where}: '{key}' must be a value or one of "
                          f"{{{', '.join(DISTRIBUTIONS)}: ...}}")
    kind, values = next(iter(raw.items()))
    values = tuple(values) if isinstance(values, list) else (values,)
    if kind == "choice":
        if not values:
            raise ConfigError(f"{where}: '{key}' choice list is empty")
        return Distribution(kind, tuple(parse_value(key, v) for v in values))
    if len(values) != 2:
        raise ConfigError(f"{where}: '{key}' {kind} needs [low, high]")
    low, high = (float(v) for v in values)
    if not low < high or (kind == "loguniform" and low <= 0):
        raise ConfigError(f"{where}: '{key}' {kind} range [{low}, {high}] is not valid")
    return Distribution(kind, (low, high))


def _pool(catalog: Catalog, names: list[str], targets: list[str], allow: bool,
          where: str) -> list[str]:
    """Expand `english` / `non_english` / `all` and task names; drop protocol breakers."""
    out: list[str] = []
    for name in names:
        if name in ("english", "non_english", "all"):  # labelled tasks
            tasks = [t.name for t in catalog.intermediates() if t.type != "mlm" and
                     (name == "all" or t.is_english == (name == "english"))]
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


def _intermediate(raw: dict, catalog: Catalog, targets: list[str], where: str
                  ) -> tuple[dict, dict, list, bool, int]:
    _unknown(raw, {"pool", "counts", "language_mix", "sets", "allow_protocol_breaking",
                   "draws", "budget", "examples_cap"}, where)
    allow = bool(raw.get("allow_protocol_breaking", False))
    sets = [list(s) for s in raw.get("sets") or []]
    for s in sets:
        for name in s:
            if not catalog.task(name).is_intermediate:
                raise ConfigError(f"{where}: '{name}' in sets is not an intermediate task")
            if catalog.task(name).breaks_zero_shot(targets) and not allow:
                raise ConfigError(f"{where}: '{name}' breaks zero-shot for {targets} "
                                  "(set allow_protocol_breaking: true to use it)")
    base = _pool(catalog, list(raw.get("pool") or []), targets, allow, where)
    mixes_raw = raw.get("language_mix", ["mixed"])
    if isinstance(mixes_raw, list):
        mixes_raw = {m: None for m in mixes_raw}
    pool, counts = {}, {}
    for mix, override in mixes_raw.items():
        if mix not in MIXES:
            raise ConfigError(f"{where}: language_mix '{mix}' is not one of {', '.join(MIXES)}")
        if override is not None and not isinstance(override, dict):
            raise ConfigError(f"{where}: language_mix '{mix}' takes a mapping like {{counts: [...]}}")
        cs = (override or {}).get("counts", raw.get("counts"))
        if cs is None:
            if sets:
                continue
            raise ConfigError(f"{where}: give `counts` (how many tasks per trial)")
        if isinstance(cs, dict):
            _unknown(cs, {"min", "max", "log"}, f"{where} counts")
            lo, hi = int(cs["min"]), int(cs["max"])
            cs = sorted({0} | {2 ** i for i in range(hi.bit_length())} if cs.get("log") else
                        range(lo, hi + 1))
            cs = [c for c in cs if lo <= c <= hi]
        cs = sorted({int(c) for c in cs})
        tasks = [t for t in base if mix == "mixed" or catalog.task(t).is_english == (mix == "english")]
        if not tasks and any(cs):
            raise ConfigError(f"{where}: the {mix} pool is empty")
        if any(c < 0 for c in cs):
            raise ConfigError(f"{where}: task counts must be >= 0")
        if max(cs) > len(tasks):
            raise ConfigError(f"{where}: count {max(cs)} is larger than the {mix} pool "
                              f"({len(tasks)} tasks: {', '.join(tasks)})")
        pool[mix], counts[mix] = tasks, cs
    if not sets and not counts:
        raise ConfigError(f"{where}: needs `sets` or `counts`")
    return pool, counts, sets, allow, int(raw.get("draws", 1))


def _compute(raw: dict, where: str) -> dict[str, Any]:
    """`budget: {steps: N}` and `examples_cap: N`: the intermediate phase's compute held
    constant, so that more tasks does not mean more steps."""
    fixed: dict[str, Any] = {}
    budget = raw.get("budget")
    if budget is not None:
        if not isinstance(budget, dict) or set(budget) != {"steps"}:
            raise ConfigError(f"{where}: budget takes {{steps: N}}")
        fixed["intermediate_steps"] = parse_value("intermediate_steps", budget["steps"])
    if raw.get("examples_cap") is not None:
        fixed["examples_cap"] = parse_value("examples_cap", raw["examples_cap"])
    return fixed


def parse_spec(raw: Any, catalog: Catalog, name_hint: str = "") -> SweepSpec:
    """Validate a loaded YAML mapping into a SweepSpec."""
    where = f"search space '{name_hint}'"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    _unknown(raw, TOP_KEYS, where)
    targets = list(raw.get("targets") or [])
    if not targets:
        raise ConfigError(f"{where}: `targets` is empty")
    for t in targets:
        if not catalog.task(t).is_target:
            raise ConfigError(f"{where}: '{t}' is not a target task")
    eval_langs = list(raw.get("eval_languages") or [])
    catalog.expand_languages(eval_langs)
    objective = dict(raw.get("objective") or {})
    _unknown(objective, {"languages", "mode", "metric"}, f"{where} objective")
    metric = objective.get("metric", "score")
    if metric not in OBJECTIVE_METRICS:
        raise ConfigError(f"{where} objective: metric '{metric}' is not one of "
                          f"{', '.join(OBJECTIVE_METRICS)}")
    obj_langs = str(objective.get("languages", "all"))
    wanted = set(catalog.expand_languages([obj_langs]))
    for t in targets:
        if not wanted & set(catalog.task(t).languages):
            raise ConfigError(f"{where}: objective languages '{obj_langs}' include none of "
                              f"{t}'s languages")
    mode = objective.get("mode", "max")
    if mode not in ("max", "min"):
        raise ConfigError(f"{where}: objective mode must be max or min")
    inter = dict(raw.get("intermediate") or {})
    pool, counts, sets, allow, draws = _intermediate(inter, catalog, targets,
                                                     f"{where} intermediate")
    fixed, searched = _compute(inter, f"{where} intermediate"), {}
    for key, value in (raw.get("hyperparameters") or {}).items():
        if key not in HYPER:
            raise ConfigError(f"{where}: '{key}' is not a hyperparameter "
                              f"(known: {', '.join(HYPER)})")
        dist = _distribution(key, value, f"{where} hyperparameters")
        if dist:
            searched[key] = dist
        else:
            fixed[key] = parse_value(key, value)
    seeds = [int(s) for s in raw.get("seeds", [0])]
    if not seeds:
        raise ConfigError(f"{where}: `seeds` is empty")
    search = dict(raw.get("search") or {})
    _unknown(search, {"algorithm", "num_samples", "max_concurrent", "scheduler"},
             f"{where} search")
    algorithm = search.get("algorithm", "optuna")
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"{where}: algorithm '{algorithm}' is not one of {', '.join(ALGORITHMS)}")
    if algorithm == "grid" and searched:
        bad = [k for k, d in searched.items() if d.kind != "choice"]
        if bad:
            raise ConfigError(f"{where}: grid search needs `choice` hyperparameters, not {bad}")
    scheduler = search.get("scheduler")
    if scheduler is not None:
        _unknown(scheduler, {"asha"}, f"{where} scheduler")
        _unknown(scheduler["asha"] or {}, {"grace_period", "reduction_factor"},
                 f"{where} scheduler asha")
    num_samples, max_conc = int(search.get("num_samples", 8)), int(search.get("max_concurrent", 1))
    if num_samples < 1 or max_conc < 1:
        raise ConfigError(f"{where}: num_samples and max_concurrent must be >= 1")
    model = str(raw.get("model", "xlm-roberta-large"))
    res_default = {"cpu": 1.0, "gpu": 0.0} if model == "tiny" else {"cpu": 4.0, "gpu": 1.0}
    resources = {**res_default, **{k: float(v) for k, v in (raw.get("resources") or {}).items()}}
    _unknown(resources, {"cpu", "gpu"}, f"{where} resources")
    if resources["cpu"] <= 0 or resources["gpu"] < 0:
        raise ConfigError(f"{where}: resources need cpu > 0 and gpu >= 0")
    spec = SweepSpec(
        name=str(raw.get("name") or name_hint), description=str(raw.get("description", "")),
        model=model, data=str(raw.get("data", "sample")), targets=targets,
        eval_languages=eval_langs, objective_languages=obj_langs, objective_metric=metric,
        mode=mode, pool=pool,
        counts=counts, fixed_sets=sets, allow_protocol_breaking=allow, fixed=fixed,
        searched=searched, seeds=seeds, algorithm=algorithm, num_samples=num_samples,
        max_concurrent=max_conc, scheduler=scheduler, resources=resources, draws=draws,
        raw=raw)
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
    for pair in overrides or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set expects key=value, got '{pair}'")
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    spec = parse_spec(raw, catalog, path.stem)
    spec.source_path = str(path.resolve())
    return spec
