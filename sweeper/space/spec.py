"""Search-space files (search_spaces/*.yaml): the sweep's schema, validated at load.

A file says which model, data and targets; the intermediate pool and HOW MANY tasks
(counts, 0 = baseline) and WHICH (sampled under a seed, or fixed sets); their language
mix; hyperparameters (fixed or distributions); seeds; the search algorithm; resources.
Unknown keys, unknown tasks or languages, empty pools, counts larger than a pool and
bad ranges are errors. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sweeper import yamlio
from sweeper.catalog import Catalog
from sweeper.errors import ConfigError
from sweeper.model.offline import is_offline
from sweeper.space import schema
from sweeper.space.budgets import budgets
from sweeper.space.fidelity import Ladder
from sweeper.space.fidelity_schema import spec_ladder
from sweeper.space.hyper import Distribution, searched
from sweeper.space.hyper import fixed as hyper_fixed
from sweeper.space.pools import intermediate_design
from sweeper.trial.checks import check_settings
from sweeper.trial.settings import TrialSettings


@dataclass(frozen=True)
class SweepSpec:
    """A validated search-space file (frozen: what a sweep asks does not change once
    checked; `dataclasses.replace` gives a spec with, say, its ranking). What the file
    says is read from `file`, the validated file itself; the fields hold what is derived
    from it against the catalog (pools, counts, sets, chains, arms, fixed settings)."""

    file: schema.SpaceFile
    name: str
    pool: dict[str, list[str]]  # mix -> tasks it may draw from
    counts: dict[str, list[int]]  # mix -> task counts
    fixed_sets: list[list[str]]  # explicit task lists (used instead of sampling if given)
    allow_protocol_breaking: bool
    fixed: dict[str, Any]  # settings every trial shares: budget, local data, hyperparameters
    resources: dict[str, float]
    draws: int = 1  # grid: task subsets drawn per (mix, count)
    chains: list[list[str]] = field(default_factory=list)  # chain designs: each chain's order
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)  # budget arm -> settings
    ranking: dict[str, float] = field(default_factory=dict)  # task -> predicted score
    fidelity: Ladder | None = None  # rungs from cheap to full (sweeper.space.fidelity)
    source_path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    description = property(lambda self: self.file.description)
    model = property(lambda self: self.file.model)
    data = property(lambda self: self.file.data)
    targets = property(lambda self: list(self.file.targets))
    eval_languages = property(lambda self: list(self.file.eval_languages))
    objective_languages = property(lambda self: self.file.objective.languages)
    objective_metric = property(lambda self: self.file.objective.metric)  # score or gain
    selection = property(lambda self: self.file.objective.selection)  # english/target_dev
    mode = property(lambda self: self.file.objective.mode)
    seeds = property(lambda self: list(self.file.seeds))
    algorithm = property(lambda self: self.file.search.algorithm)
    num_samples = property(lambda self: self.file.search.num_samples)
    max_concurrent = property(lambda self: self.file.search.max_concurrent)
    prior = property(lambda self: self.file.search.prior)  # rank: Optuna starts from it
    order = property(lambda self: self.file.search.order)  # rank: a grid's best sets first
    allow_gold_only_bucc = property(lambda self: self.file.allow_gold_only_bucc)

    @property
    def scheduler(self) -> dict[str, Any] | None:
        found = self.file.search.scheduler
        return found.model_dump() if found else None

    @property
    def searched(self) -> dict[str, Distribution]:
        """The hyperparameters a search draws, as the file gives them."""
        return searched(self.file.hyperparameters)

    def base_settings(self) -> TrialSettings:
        """Trial settings shared by every trial of the sweep."""
        return TrialSettings.build(targets=list(self.targets), model=self.model, data=self.data,
                                   eval_languages=list(self.eval_languages), **self.fixed)

    def objective_targets(self, catalog: Catalog) -> tuple[list[str], dict[str, str]]:
        """(targets whose DEV numbers enter the objective, {target: why it stays out}):
        under english_dev the targets with an English dev set, under target_dev those
        with dev sets in the objective's languages."""
        english = self.selection == "english_dev"
        wanted = {"en"} if english else set(catalog.expand_languages([self.objective_languages]))
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
            elif english:
                outside[name] = ("it has no English dev set: strict zero-shot selection "
                                 "cannot see it")
            else:
                outside[name] = (f"its dev split has none of the objective languages "
                                 f"'{self.objective_languages}'")
        return inside, outside

    def describe(self) -> str:
        if self.chains:
            sets = (f"{len(self.chains)} chains of {len(self.chains[0])} from a pool of "
                    f"{len(self.pool['chain'])}")
        elif self.fixed_sets:
            sets = f"{len(self.fixed_sets)} fixed task sets"
        else:
            sets = "; ".join(f"{m}: pool {len(self.pool[m])}, counts {self.counts[m]}"
                             for m in self.counts)
        if self.arms:
            sets += f"; budget arms {', '.join(self.arms)}"
        search = (self.algorithm if self.algorithm == "grid" else
                  f"{self.algorithm}, num_samples {self.num_samples}")
        return (f"{self.name}: targets {','.join(self.targets)}; {sets}; "
                f"{len(self.seeds)} seed(s); {search}")


def _checked_settings(base: TrialSettings, values: dict[str, Any], where: str,
                      catalog: Catalog) -> None:
    try:
        check_settings(base.replace(**values), catalog)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_targets(f: schema.SpaceFile, catalog: Catalog, where: str) -> None:
    """Targets are targets, once each, and have evaluated and objective languages."""
    targets = list(f.targets)
    for t in targets:
        if not catalog.task(t).is_target:
            raise ConfigError(f"{where}: '{t}' is not a target task")
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: targets repeat: {targets}")
    evaluated = set(catalog.expand_languages(list(f.eval_languages)))
    wanted = set(catalog.expand_languages([f.objective.languages]))
    for t in targets:
        langs = set(catalog.task(t).languages)
        if f.eval_languages and not evaluated & langs:
            raise ConfigError(f"{where}: eval_languages {list(f.eval_languages)} include none "
                              f"of {t}'s languages")
    if not wanted & {lang for t in targets for lang in catalog.task(t).languages}:
        raise ConfigError(f"{where}: objective languages '{f.objective.languages}' include "
                          "none of the targets' languages")


def parse_spec(raw: Any, catalog: Catalog, name_hint: str = "") -> SweepSpec:
    """Validate a loaded YAML mapping into a SweepSpec: its shape (sweep.schema), then
    the catalog's names and the trial settings' ranges."""
    where = f"search space '{name_hint}'"
    f = schema.read(raw, where)
    _check_targets(f, catalog, where)
    design = intermediate_design(f.intermediate, catalog, list(f.targets),
                                 f"{where} intermediate")
    fixed, arms = budgets(f.intermediate, f.hyperparameters, where)
    for task in f.local:
        catalog.task(task)
    if f.local:  # per-task local folders beside the space's source
        fixed["local_data"] = {t: str(Path(d).expanduser()) for t, d in f.local.items()}
    fixed.update(hyper_fixed(f.hyperparameters))
    algorithm, scheduler = f.search.algorithm, f.search.scheduler
    bad = [k for k, d in searched(f.hyperparameters).items() if d.kind != "choice"]
    if algorithm == "grid" and bad:
        raise ConfigError(f"{where}: grid search needs `choice` hyperparameters, not {bad}")
    res_default = {"cpu": 1.0, "gpu": 0.0} if is_offline(f.model) else {"cpu": 4.0, "gpu": 1.0}
    resources = {**res_default, **{k: v for k, v in f.resources.model_dump().items()
                                   if v is not None}}
    spec = SweepSpec(
        file=f, name=f.name or name_hint, pool=design.pool, counts=design.counts,
        fixed_sets=design.sets, allow_protocol_breaking=design.allow, fixed=fixed,
        resources=resources, draws=design.draws, chains=design.chains, arms=arms, raw=raw)
    _check_search(spec, where)
    if (spec.chains or arms) and algorithm != "grid":
        raise ConfigError(f"{where}: chains and budget arms are grid designs "
                          "(search.algorithm: grid)")
    check_settings(spec.base_settings(), catalog)
    for name, settings in arms.items():
        _checked_settings(spec.base_settings(), settings, f"{where} budget '{name}'", catalog)
    spec = replace(spec, fidelity=spec_ladder(f.fidelity, spec, catalog, where))
    inside, outside = spec.objective_targets(catalog)
    if not inside and (algorithm != "grid" or scheduler is not None):
        raise ConfigError(f"{where}: no target has dev numbers for the objective "
                          f"({'; '.join(f'{t}: {why}' for t, why in outside.items())}); the "
                          "search and scheduler would have nothing to select on")
    return spec


def _check_search(spec: SweepSpec, where: str) -> None:
    """`search.prior` and `search.order` with the algorithms they belong to."""
    ranked_ladder = spec.file.fidelity is not None and spec.file.fidelity.rank is not None
    if ranked_ladder and spec.prior != "rank":
        raise ConfigError(f"{where}: fidelity.rank promotes the ranking's top sets: it needs "
                          "search.prior: rank")
    if spec.prior == "rank" and (spec.algorithm == "grid" or spec.fixed_sets) \
            and not ranked_ladder:
        raise ConfigError(f"{where}: search.prior: rank seeds Optuna's task weights (optuna "
                          "or random over a pool) or, with fidelity.rank, a ladder's first "
                          "trained rung; a grid takes search.order: rank")
    if spec.order == "rank" and (spec.algorithm != "grid" or spec.chains):
        raise ConfigError(f"{where}: search.order: rank orders a grid's task sets (not a "
                          "search, nor chains); a search takes search.prior: rank")


def load_spec(path: str | Path, catalog: Catalog, overrides: list[str] | None = None
              ) -> SweepSpec:
    """Read and validate a search-space file; `overrides` are dotted key=value strings."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search-space file not found: {path}")
    raw = yamlio.load(path)
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
        node[parts[-1]] = yamlio.loads(value, f"--set {key}")
    return replace(parse_spec(raw, catalog, path.stem), source_path=str(path.resolve()))
