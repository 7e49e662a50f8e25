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

from sweeper.digest import seeded
from sweeper.sweep.spec import SweepSpec
from sweeper.trial.settings import TrialSettings


def choose_tasks(pool: list[str], k: int, draw: int, mix: str) -> list[str]:
    """The `draw`-th seeded choice of k tasks from `pool`, in pool order."""
    rng = seeded("task-subset", mix, k, draw, ",".join(pool))
    picked = set(rng.sample(pool, k))
    return [t for t in pool if t in picked]


def task_sets(spec: SweepSpec) -> list[tuple[str, list[str]]]:
    """(mix, tasks) for every task set a grid visits; the empty set once."""
    if spec.fixed_sets:
        return [("set" if s else "none", list(s)) for s in spec.fixed_sets]
    out: list[tuple[str, list[str]]] = []
    seen: set[tuple[str, ...]] = set()
    for mix, counts in spec.counts.items():
        for k in counts:
            for draw in range(spec.draws if k else 1):
                tasks = choose_tasks(spec.pool[mix], k, draw, mix)
                if tuple(tasks) not in seen:
                    seen.add(tuple(tasks))
                    out.append((mix if k else "none", tasks))
    return out


def grid(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial of a grid search: task sets x seeds x choice hyperparameters.

    Task sets vary fastest, so trials that share an intermediate phase (same set, other
    target-phase settings) are far apart in the queue instead of waiting on each other.
    """
    names = sorted(spec.searched)
    choices = [spec.searched[n].values for n in names]
    trials = []
    for combo, seed, (mix, tasks) in itertools.product(itertools.product(*choices), spec.seeds,
                                                       task_sets(spec)):
        trials.append({"mix": mix, "count": len(tasks), "tasks": ",".join(tasks),
                       "seed": seed, **dict(zip(names, combo))})
    return trials


class DefineByRun:
    """An Optuna define-by-run space (TPE or random sampling over the same space).

    "How many, then which": the count is chosen per language mix (one categorical per
    mix, as Optuna needs fixed choices per name), then the tasks one by one as an index
    into the tasks still left, so every subset of every size is reachable. A class, not
    a closure: Ray's OptunaSearch pickles the space with its own state.
    """

    def __init__(self, spec: SweepSpec):
        self.spec = spec

    def __call__(self, trial: Any) -> dict[str, Any]:
        spec = self.spec
        if spec.fixed_sets:
            tasks = list(spec.fixed_sets[trial.suggest_int("set", 0, len(spec.fixed_sets) - 1)])
            mix = "set" if tasks else "none"
        else:
            mix = trial.suggest_categorical("mix", list(spec.counts))
            k = trial.suggest_categorical(f"count_{mix}", spec.counts[mix])
            left = list(spec.pool[mix])
            picked = [left.pop(trial.suggest_int(f"{mix}_pick{i}", 0, len(spec.pool[mix]) - 1 - i))
                      for i in range(k)]
            tasks = [t for t in spec.pool[mix] if t in picked]
            mix = mix if tasks else "none"
        trial.suggest_categorical("seed", spec.seeds)
        for name, dist in sorted(spec.searched.items()):
            if dist.kind == "choice":
                trial.suggest_categorical(name, list(dist.values))
            elif dist.kind == "int":
                trial.suggest_int(name, int(dist.values[0]), int(dist.values[1]))
            else:
                trial.suggest_float(name, dist.values[0], dist.values[1],
                                    log=dist.kind == "loguniform")
        return {"mix": mix, "count": len(tasks), "tasks": ",".join(tasks)}


define_by_run = DefineByRun


def params_to_settings(spec: SweepSpec, params: dict[str, Any]) -> TrialSettings:
    """The trial settings a trial's flat parameters stand for."""
    updates = {name: params[name] for name in spec.searched if name in params}
    return spec.base_settings().replace(
        intermediate=[t for t in str(params.get("tasks", "")).split(",") if t],
        seed=int(params.get("seed", spec.seeds[0])), **updates)


def describe_params(params: dict[str, Any]) -> str:
    """A short label for tables and run names: '2 english: mnli,qqp | seed 0 | lr=3e-05'."""
    tasks = params.get("tasks") or "(baseline)"
    extra = "".join(f" | {k}={v:.3g}" if isinstance(v, float) else f" | {k}={v}"
                    for k, v in sorted(params.items())
                    if k not in ("mix", "count", "tasks", "seed") and "_pick" not in k
                    and not k.startswith("count_") and k != "set")
    return f"{params.get('count', 0)} {params.get('mix', '')}: {tasks} | seed {params.get('seed')}{extra}"
