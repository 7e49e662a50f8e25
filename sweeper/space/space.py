"""Pure functions from a SweepSpec to trial parameters and back.

A trial's parameters are a flat dict (what Ray Tune and Optuna see):
``mix`` (english / non_english / mixed / set / none), ``count``, ``tasks`` (the task
list as one comma-separated string), ``seed``, and each searched hyperparameter.
`params_to_settings` turns them into TrialSettings. Both the grid and the Optuna
define-by-run space produce this same shape. No ray, torch or mlflow here.
"""

from __future__ import annotations

import itertools
from typing import Any

from sweeper.catalog import Catalog, load_catalog
from sweeper.digest import seeded
from sweeper.errors import ConfigError
from sweeper.space.fidelity import Rung, at_rung
from sweeper.space.params import TrialParams, hyperparameters, task_list
from sweeper.space.spec import SweepSpec
from sweeper.trial.resolve import resolve
from sweeper.trial.resolved import Facts, ResolvedTrial
from sweeper.trial.settings import TrialSettings, lookup
from sweeper.trial.sharing import trainings


def choose_tasks(pool: list[str], k: int, draw: int, mix: str) -> list[str]:
    """The `draw`-th seeded choice of k tasks from `pool`, in pool order."""
    rng = seeded("task-subset", mix, k, draw, ",".join(pool))
    picked = set(rng.sample(pool, k))
    return [t for t in pool if t in picked]


def task_sets(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every task set a grid visits, as trial parameters (`mix`, `count`, `tasks`; a chain
    design adds `chain` and the task its trial adds, `added`); the empty set once."""
    if spec.chains:
        return [TrialParams(mix="chain", count=k, tasks=",".join(order[:k]), chain=c,
                            added=order[k - 1])
                for c, order in enumerate(spec.chains) for k in range(1, len(order) + 1)]
    if spec.fixed_sets:
        return [TrialParams(mix="set" if s else "none", count=len(s), tasks=",".join(s))
                for s in spec.fixed_sets]
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for mix, counts in spec.counts.items():
        for k in counts:
            for draw in range(spec.draws if k else 1):
                tasks = choose_tasks(spec.pool[mix], k, draw, mix)
                if tuple(tasks) not in seen:
                    seen.add(tuple(tasks))
                    out.append(TrialParams(mix=mix if k else "none", count=k,
                                           tasks=",".join(tasks)))
    return out


def grid(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial of a grid search: task sets x budget arms x seeds x choice
    hyperparameters.

    Task sets vary fastest, so trials that share an intermediate phase (same set, other
    target-phase settings) are far apart in the queue instead of waiting on each other.
    A chain's trials stay distinct even where two chains share a prefix (the second is
    served from the stage cache): each chain needs its own row at every length.
    """
    names = sorted(spec.searched)
    choices = [spec.searched[n].values for n in names]
    arms = list(spec.arms) or [None]
    sets = task_sets(spec)
    if spec.order == "rank" and spec.ranking:
        from sweeper.rank.order import ordered

        sets = ordered(sets, spec.ranking)
    trials, seen = [], set()
    for combo, arm, seed, point in itertools.product(itertools.product(*choices), arms,
                                                     spec.seeds, sets):
        point = {**point, "seed": seed, **dict(zip(names, combo))}
        if arm is not None:
            point["budget"] = arm
        same = _identity(point, names)
        if same not in seen:  # a setting that cannot matter for this set: run it once
            seen.add(same)
            trials.append(point)
    return trials


def _identity(point: dict[str, Any], names: list[str]) -> tuple:
    """What a grid point computes: without tasks no intermediate setting matters, and
    with one task neither does how tasks are sampled (settings marked `multi_task`)."""
    kept = []
    for n in names:
        meta = lookup(n).field.metadata
        if point["count"] == 0 and lookup(n).group == "intermediate":
            continue
        if point["count"] == 1 and meta.get("multi_task"):
            continue
        kept.append((n, point[n]))
    budget = point.get("budget") if point["count"] else None  # no tasks: no budget
    return (point["tasks"], point["seed"], point.get("chain"), budget, tuple(kept))


def set_name(tasks: list[str]) -> str:
    """A fixed task set as one categorical choice ('mnli+qqp'; '(none)' when empty)."""
    return "+".join(tasks) or "(none)"


class DefineByRun:
    """An Optuna define-by-run space (TPE or random sampling over the same space).

    "How many, then which": the count is a categorical per language mix, and each task
    of the mix's pool gets a weight `w_<task>` in [0, 1]; the k tasks with the highest
    weights are used. A weight means the same whatever else was drawn, so TPE can learn
    which tasks help. Fixed `sets` are one categorical (no order among them). The seed
    is not searched: every configuration runs once per seed (see sweep.repeats). A
    class, not a closure: Ray's OptunaSearch pickles the space with its own state.
    """

    def __init__(self, spec: SweepSpec):
        self.spec = spec

    def __call__(self, trial: Any) -> dict[str, Any]:
        spec = self.spec
        if spec.fixed_sets:
            names = [set_name(s) for s in spec.fixed_sets]
            tasks = list(spec.fixed_sets[names.index(trial.suggest_categorical("set", names))])
            mix = "set" if tasks else "none"
        else:
            mix = trial.suggest_categorical("mix", list(spec.counts))
            k = trial.suggest_categorical(f"count_{mix}", spec.counts[mix])
            pool = spec.pool[mix]
            weights = {t: trial.suggest_float(f"w_{t}", 0.0, 1.0) for t in pool}
            picked = set(sorted(pool, key=lambda t: (-weights[t], t))[:k])
            tasks = [t for t in pool if t in picked]
            mix = mix if tasks else "none"
        for name, dist in sorted(spec.searched.items()):
            if dist.kind == "choice":
                trial.suggest_categorical(name, list(dist.values))
            elif dist.kind == "int":
                trial.suggest_int(name, int(dist.values[0]), int(dist.values[1]))
            else:
                trial.suggest_float(name, dist.values[0], dist.values[1],
                                    log=dist.kind == "loguniform")
        return TrialParams(mix=mix, count=len(tasks), tasks=",".join(tasks))


define_by_run = DefineByRun


def rung_of(spec: SweepSpec, name: str) -> Rung:
    """The spec's fidelity rung called `name`."""
    rungs = {r.name: r for r in (spec.fidelity.rungs if spec.fidelity else ())}
    if name not in rungs:
        raise ConfigError(f"no fidelity rung '{name}' in space '{spec.name}'")
    return rungs[name]


def params_to_settings(spec: SweepSpec, params: dict[str, Any]) -> TrialSettings:
    """The trial settings a trial's flat parameters stand for; at a fidelity rung, what
    the rung changes in them (sweeper.space.fidelity.at_rung)."""
    updates = {name: params[name] for name in spec.searched if name in params}
    if params.get("budget") is not None:
        updates.update(spec.arms[params["budget"]])
    settings = spec.base_settings().replace(
        intermediate=task_list(params),
        seed=int(params.get("seed", spec.seeds[0])), **updates)
    if params.get("rung") is not None:
        settings = at_rung(rung_of(spec, params["rung"]), settings)
    return settings


class Resolver:
    """A trial's flat parameters -> its resolved settings, from facts found once on the
    driver: one Facts, or one per encoder rungs use (a class: saved with the searcher)."""

    def __init__(self, spec: SweepSpec, facts: Facts | dict[str, Facts],
                 threads: int | None = None):
        self.spec, self.facts, self.threads = spec, facts, threads

    def __call__(self, params: dict[str, Any]) -> ResolvedTrial:
        settings = params_to_settings(self.spec, params)
        if settings.runtime.threads is None and self.threads:
            settings = settings.replace(threads=self.threads)
        facts = self.facts if isinstance(self.facts, Facts) else self.facts[settings.model]
        return resolve(settings, load_catalog(), facts)


def describe_params(params: dict[str, Any]) -> str:
    """A short label for tables and run names: '2 english: mnli,qqp | seed 0 | lr=3e-05'."""
    tasks = params.get("tasks") or "(baseline)"
    shown = hyperparameters(params)
    if "budget" in params:  # a budget arm
        shown["budget"] = params["budget"]
    extra = "".join(f" | {k}={v:.3g}" if isinstance(v, float) else f" | {k}={v}"
                    for k, v in sorted(shown.items()))
    mix = f"chain {params['chain']}" if params.get("chain") is not None else params.get("mix", "")
    rung = f" | rung {params['rung']}" if params.get("rung") is not None else ""
    return (f"{params.get('count', 0)} {mix}: {tasks} | "
            f"seed {params.get('seed')}{extra}{rung}")


def cost(spec: SweepSpec, catalog: Catalog) -> dict[str, int | str]:
    """How many baselines, intermediate trainings, target trainings and trials a space
    implies. A searched setting that enters the baseline key costs one baseline per
    distinct value. A target training is one fine-tuning on a target's English data: one
    per trained target in every baseline and in every trial with intermediate tasks
    (trials without tasks are served by their baseline)."""
    names = sorted(spec.searched)
    base_names = [n for n in names if lookup(n).group not in ("intermediate", "runtime")]
    inter_names = [n for n in names if lookup(n).group not in ("target", "evaluation",
                                                                 "runtime")]
    trained = trainings(spec.base_settings(), catalog)  # shared fine-tunings count once
    if spec.algorithm == "grid":
        points = grid(spec)
        baselines = len({(p["seed"], *(p[n] for n in base_names)) for p in points})
        return {"trials": len(points), "baselines": baselines,
                "intermediate_trainings": len({(tuple(sorted(p["tasks"].split(","))),
                                                p["seed"], p.get("budget"),
                                                *(p[n] for n in inter_names))
                                               for p in points if p["tasks"]}),
                "target_trainings": trained * (baselines + sum(1 for p in points
                                                               if p["tasks"]))}
    continuous = [n for n in base_names if spec.searched[n].kind in ("uniform", "loguniform")]
    if continuous:
        baselines: int | str = (f"up to {spec.num_samples} (one per distinct value of "
                                f"{', '.join(continuous)})")
    else:
        combos = len(spec.seeds)
        for n in base_names:
            d = spec.searched[n]
            combos *= len(d.values) if d.kind == "choice" else int(d.values[1] - d.values[0]) + 1
        baselines = min(combos, spec.num_samples)
    return {"trials": spec.num_samples, "baselines": baselines,
            "intermediate_trainings": f"up to {spec.num_samples}",
            "target_trainings": f"up to {trained} per trial and per baseline"}


def describe_space(spec: SweepSpec) -> list[str]:
    """`sweeper validate --list`: one line per grid trial, or what Optuna searches."""
    if spec.algorithm == "grid":
        return [f"{i:>4}  {describe_params(p)}" for i, p in enumerate(grid(spec), 1)]
    lines = [f"{spec.algorithm} search, {spec.num_samples} trials (configurations x "
             f"{len(spec.seeds)} seed(s))"]
    if spec.fixed_sets:
        lines.append(f"  set: one of {len(spec.fixed_sets)} fixed task sets")
    for mix, counts in spec.counts.items():
        lines.append(f"  {mix}: {counts} tasks from {len(spec.pool[mix])}: "
                     f"{', '.join(spec.pool[mix])}")
    for name, dist in sorted(spec.searched.items()):
        lines.append(f"  {name}: {dist.kind} {list(dist.values)}")
    return lines
