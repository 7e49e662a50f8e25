"""Seeds as repeats of a configuration, and configurations never trained twice, around a
real Optuna searcher (no Ray cluster needed)."""

from __future__ import annotations

import optuna
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from sweeper.search.repeats import MAX_REPEATS, SeedRepeats
from sweeper.space import space
from sweeper.space.spec import parse_spec


def _spec(catalog, pool):
    return parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": [0, 1],
                       "intermediate": {"pool": pool, "counts": [1]},
                       "search": {"algorithm": "optuna"}}, catalog, "t")


def test_each_configuration_runs_once_per_seed_and_the_searcher_hears_the_mean(catalog):
    spec = _spec(catalog, ["mnli", "qqp", "sst2"])
    inner = OptunaSearch(space=space.define_by_run(spec), metric="objective", mode="max",
                         sampler=optuna.samplers.RandomSampler(seed=0))
    search = SeedRepeats(inner, spec.seeds, metric="objective", mode="max")
    a, b = search.suggest("t1"), search.suggest("t2")
    assert {a["seed"], b["seed"]} == {0, 1} and a["tasks"] == b["tasks"]
    search.on_trial_complete("t1", {"objective": 1.0})
    assert not inner._ot_study.trials[0].value  # not told before every seed finished
    search.on_trial_complete("t2", {"objective": 3.0})
    assert inner._ot_study.trials[0].value == 2.0


class _Stubborn(Searcher):
    """Proposes the same configuration forever and records what it is told."""

    def __init__(self):
        super().__init__(metric="objective", mode="max")
        self.told: list = []

    def suggest(self, trial_id):
        return {"tasks": "mnli", "count": 1, "mix": "english", "w_mnli": 0.3}

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.told.append(result)


def test_an_evaluated_configuration_is_not_trained_again():
    inner = _Stubborn()
    search = SeedRepeats(inner, [0], metric="objective", mode="max")
    first = search.suggest("t1")
    search.on_trial_complete("t1", {"objective": 5.0})
    assert search.suggest("t2") == Searcher.FINISHED  # only known configurations: converged
    assert first["seed"] == 0
    assert inner.told[0] == {"objective": 5.0} and len(inner.told) == 1 + MAX_REPEATS
    assert all(t == {"objective": 5.0} for t in inner.told)  # told the known value, no run
