"""Seeds are repeats of a configuration, not a parameter the searcher tunes.

`SeedRepeats` wraps a Ray Tune searcher (Optuna): every configuration it proposes runs
once per seed of the space, and the searcher is told the mean objective over the seeds
once all of them have finished. A configuration proposed again (the same tasks and
hyperparameters) is never trained again: the searcher is told the known mean at once
and asked for another; one still running is joined. When the searcher proposes nothing
but known configurations MAX_REPEATS times in a row it has converged, and the search ends.
Restored, it reconciles its own state with the trials Tune restored (`restored`).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from ray.tune.search import Searcher

from sweeper.search.restored import Point, RestoredTrial, point
from sweeper.search.saved_state import SavedState
from sweeper.space.params import SEARCHER_ONLY

MAX_REPEATS = 20


def config_key(config: dict[str, Any]) -> str:
    """What a configuration trains: its tasks and hyperparameters (the searcher's own
    bookkeeping parameters and the seed aside)."""
    kept = {k: v for k, v in config.items()
            if k != "seed" and not k.startswith(SEARCHER_ONLY)}
    return json.dumps(kept, sort_keys=True, default=str)


class SeedRepeats(SavedState):
    def __init__(self, inner: Searcher, seeds: list[int], metric: str, mode: str):
        super().__init__(metric=metric, mode=mode)
        self.inner, self.seeds = inner, list(seeds)
        self.queue: list[tuple[str, dict[str, Any]]] = []  # (config key, config + seed)
        self.groups: dict[str, dict[str, Any]] = {}  # config key -> inner ids, results
        self.owner: dict[str, tuple[str, dict[str, Any]]] = {}  # Tune trial -> key, config
        self.known: dict[str, float] = {}  # config key -> mean objective over seeds
        self.counter = 0
        # restored trials of seeds it had not queued yet (its state was behind Tune's):
        # their point -> the trial, taken when the searcher proposes their configuration
        self.orphans: dict[Point, RestoredTrial] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        while not self.queue:  # (a configuration whose seeds restored trials hold: the next)
            found = self._next_configuration()
            if found is None or found == Searcher.FINISHED:
                return found
            self._adopt()
        key, config = self.queue.pop(0)
        self.owner[trial_id] = (key, config)
        return config

    def _next_configuration(self) -> str | None:
        for _ in range(MAX_REPEATS):
            self.counter += 1
            inner_id = f"config-{self.counter}"
            config = self.inner.suggest(inner_id)
            if config is None or config == Searcher.FINISHED:
                return config
            key = config_key(config)
            if key in self.known:  # evaluated before: not trained again
                self.inner.on_trial_complete(inner_id, {self.metric: self.known[key]})
                continue
            if key in self.groups:  # running now: told when it finishes
                self.groups[key]["inner"].append(inner_id)
                continue
            self.groups[key] = {"inner": [inner_id], "values": [], "left": len(self.seeds)}
            self.queue = [(key, {**config, "seed": s}) for s in self.seeds]
            return "queued"
        return Searcher.FINISHED  # only known configurations come back: converged

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass  # the searcher hears the mean over seeds once they all finished

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        for at, orphan in list(self.orphans.items()):
            if orphan.trial_id == trial_id:  # counted once its configuration comes
                self.orphans[at] = replace(orphan, status="TERMINATED",
                                           result={} if error else result or {})
        key, _ = self.owner.pop(trial_id, (None, None))
        if key is None or key not in self.groups:
            return
        group = self.groups[key]
        value = (result or {}).get(self.metric)
        if not error and value is not None and not math.isnan(value):
            group["values"].append(value)
        group["left"] -= 1
        if group["left"] > 0:
            return
        del self.groups[key]
        values = group["values"]
        mean = sum(values) / len(values) if values else None
        if mean is not None:
            self.known[key] = mean
        for inner_id in group["inner"]:
            self.inner.on_trial_complete(inner_id, {self.metric: mean} if mean is not None
                                         else None, error=mean is None)

    def restored(self, trials: list[RestoredTrial]) -> None:
        """Its state made to agree with the restored trials, whatever it saved: a seed it
        gave to a trial Tune never heard of is queued again (ahead: it waited for it
        forever); a seed a restored trial holds is that trial's, queued now or once the
        searcher proposes its configuration again (behind: it gave it twice); a trial that
        finished without telling it is counted. (A restored trial whose configuration the
        searcher does not propose again runs and is logged, unheard by the searcher.)"""
        by_id = {t.trial_id: t for t in trials}
        held = {point(t.config): t for t in trials}
        for trial_id, (key, config) in list(self.owner.items()):
            if trial_id not in by_id:
                del self.owner[trial_id]
                if point(config) not in held:
                    self.queue.insert(0, (key, config))
        for trial_id in [t for t in self.owner if by_id[t].finished]:
            self.on_trial_complete(trial_id, by_id[trial_id].result)
        owned = {point(config) for _, config in self.owner.values()}
        self.orphans = {at: t for at, t in held.items() if at not in owned}
        self._adopt()

    def _adopt(self) -> None:
        """Queued seeds that restored trials hold become theirs (counted if finished)."""
        for key, config in list(self.queue):
            trial = self.orphans.pop(point(config), None)
            if trial is None:
                continue
            self.queue.remove((key, config))
            self.owner[trial.trial_id] = (key, config)
            if trial.finished:
                self.on_trial_complete(trial.trial_id, trial.result)
