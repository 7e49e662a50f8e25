"""The sweep's searcher: which trial runs next, with its settings resolved on the driver.

- grid: every point of `sweep.space.grid` once, in order (`GridSearch`); with a fidelity
  ladder, every point at the first rung, then the sets it promotes (and audits) at the
  next, rung by rung (`sweeper.search.ladder.LadderSearch`);
- optuna / random: Optuna's define-by-run space (TPE or random sampling), each
  configuration once per seed (`sweeper.search.repeats.SeedRepeats`).

Around either, `Resolving` turns each trial's flat parameters into a `ResolvedTrial`
(sweeper.trial.resolved) on the driver, from the facts found there once, and hands it to
the trial as `config["settings"]`: workers never parse the space file again; around
that, `Limiter` runs at most `max_concurrent` trials at a time. Restored with a sweep,
each of them agrees with the trials Tune restored (sweeper.search.restored).
"""

from __future__ import annotations

from typing import Any

from ray.tune.search import ConcurrencyLimiter, Searcher

from sweeper.search.repeats import SeedRepeats
from sweeper.search.restored import RestoredTrial, point
from sweeper.search.saved_state import SavedState
from sweeper.space import space
from sweeper.space.params import RESOLVED
from sweeper.space.spec import SweepSpec


class GridSearch(SavedState):
    """Each of `points` once, in order. Restored, it leaves out exactly the points the
    restored trials hold (sweeper.search.restored), whatever its own saved state says."""

    def __init__(self, points: list[dict[str, Any]], metric: str, mode: str):
        super().__init__(metric=metric, mode=mode)
        self.points = list(points)
        self.left = list(range(len(self.points)))  # not yet given to a trial, in order

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if not self.left:
            return Searcher.FINISHED
        return dict(self.points[self.left.pop(0)])

    def restored(self, trials: list[RestoredTrial]) -> None:
        taken = {point(t.config) for t in trials}
        self.left = [i for i, p in enumerate(self.points) if point(p) not in taken]

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        pass


class Resolving(SavedState):
    """`inner`'s configurations, each with its resolved settings added."""

    def __init__(self, inner: Searcher, resolve: space.Resolver, metric: str, mode: str):
        super().__init__(metric=metric, mode=mode)
        self.inner, self.resolve = inner, resolve

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        config = self.inner.suggest(trial_id)
        if not isinstance(config, dict):
            return config
        return {**config, RESOLVED: self.resolve(config)}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.inner.on_trial_result(trial_id, result)

    def restored(self, trials: list[RestoredTrial]) -> None:
        """The searcher inside reconciles with the restored trials, and the trials Tune
        runs again are kept for the concurrency limiter around (`Limiter`)."""
        super().restored(trials)
        self.restored_live = {t.trial_id for t in trials if not t.finished}

    def take_restored_live(self) -> set[str] | None:
        """The restored trials Tune runs again, once after a restore (else None)."""
        live, self.restored_live = getattr(self, "restored_live", None), None
        return live

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self.inner.on_trial_complete(trial_id, result, error=error)


class Limiter(ConcurrencyLimiter):
    """At most `max_concurrent` trials at a time (Tune's limiter, outermost), made to
    agree with the trials Tune restored. Its set of running trials is saved apart from
    the experiment state and could, after a driver was killed, hold a trial Tune never
    heard of or one that finished unheard: a slot never freed (the sweep then ran fewer
    trials at a time after each such resume, and none once all were so held). After a
    restore it holds exactly the restored trials Tune runs again."""

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        self._agree()
        return super().suggest(trial_id)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self._agree()
        super().on_trial_complete(trial_id, result=result, error=error)

    def _agree(self) -> None:
        live = self.searcher.take_restored_live()
        if live is not None:
            self.live_trials = set(live)
            self.num_unfinished_live_trials = len(live)


def build(spec: SweepSpec, resolve: space.Resolver) -> tuple[Searcher, int]:
    """(searcher, number of trials: -1 where the searcher says when it is done) for the
    spec's algorithm; `resolve` turns a trial's flat parameters into its resolved
    settings."""
    if spec.algorithm == "grid" and spec.fidelity is not None:
        from sweeper.search.ladder import LadderSearch

        ladder = LadderSearch(space.grid(spec), spec.fidelity, "objective", spec.mode,
                              seed=spec.seeds[0], ranking=spec.ranking)
        return _limited(spec, Resolving(ladder, resolve, "objective", spec.mode)), -1
    if spec.algorithm == "grid":
        points = space.grid(spec)
        # the searcher says when it is done (a count kept by Tune would disagree with it
        # after a restore that gave a point back, or took one away)
        return _limited(spec, Resolving(GridSearch(points, "objective", spec.mode), resolve,
                                        "objective", spec.mode)), -1
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    sampler = (optuna.samplers.RandomSampler(seed=spec.seeds[0]) if spec.algorithm == "random"
               else optuna.samplers.TPESampler(seed=spec.seeds[0]))
    first = None
    if spec.prior == "rank" and spec.ranking:
        from sweeper.rank.order import enqueued

        first = enqueued(spec, spec.ranking)
    search = OptunaSearch(space=space.define_by_run(spec), metric="objective", mode=spec.mode,
                          sampler=sampler, points_to_evaluate=first)
    repeats = SeedRepeats(search, spec.seeds, metric="objective", mode=spec.mode)
    return _limited(spec, Resolving(repeats, resolve, "objective", spec.mode)), \
        spec.num_samples


def _limited(spec: SweepSpec, search: Resolving) -> Limiter:
    """`search` with at most the spec's `max_concurrent` trials at a time (the ladder and
    the grid until they say they are done, Optuna for `num_samples` trials)."""
    return Limiter(search, max_concurrent=spec.max_concurrent)
