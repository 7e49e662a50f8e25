"""Seeds are repeats of a configuration, not a parameter the searcher tunes.

`SeedRepeats` wraps a Ray Tune searcher (Optuna): every configuration it proposes runs
once per seed of the space, and the searcher is told the mean objective over the seeds
once all of them have finished. A configuration proposed again (the same tasks and
hyperparameters) is never trained again: the searcher is told the known mean at once
and asked for another; one still running is joined. When the searcher proposes nothing
but known configurations MAX_REPEATS times in a row it has converged, and the search ends.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ray.tune.search import Searcher

from sweeper.runner.saved_state import SavedState
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
        self.owner: dict[str, str] = {}  # Tune trial id -> config key
        self.known: dict[str, float] = {}  # config key -> mean objective over seeds
        self.counter = 0

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if not self.queue:
            found = self._next_configuration()
            if found is None or found == Searcher.FINISHED:
                return found
        key, config = self.queue.pop(0)
        self.owner[trial_id] = key
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
        key = self.owner.pop(trial_id, None)
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
