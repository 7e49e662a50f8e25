"""The searcher of a fidelity ladder: rung by rung, each rung started once the one below
has finished.

`LadderSearch` proposes every grid point at the first rung; once all of them have
finished it promotes sets on their dev objective (the mean over a set's seeds: the
objective is the selection split's, never test) by the rung's rule
(sweeper.space.fidelity.promote), adds the seeded audit of the passed-over sets
(sweeper.space.fidelity.audit) and the set without tasks (the reference every rung's
gains and count effect are read against), and proposes those at the next rung, and so
on to the last. Each proposal carries its rung (`rung`) and how the set reached it
(`via`: start, promoted, audited or reference), so a trial's settings are the rung's
(sweeper.space.space.params_to_settings) and its run is tagged with both. Its whole
state is its attributes: saved with the sweep, so `sweeper resume` continues at any rung;
restored, it is rebuilt from the trials Tune restored (`restored`), so a searcher state a
step behind or ahead of them neither runs a point twice nor waits for a trial in vain.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ray.tune.search import Searcher

from sweeper.search.restored import RestoredTrial, point
from sweeper.search.saved_state import SavedState
from sweeper.space.fidelity import Ladder, audit, promote

VIA = ("start", "ranked", "rank_audited", "promoted", "audited", "reference")


def set_of(point: dict[str, Any]) -> str:
    """The set a grid point trains (tasks, design and hyperparameters): its seed, rung and
    route up the ladder aside."""
    kept = {k: v for k, v in point.items() if k not in ("seed", "rung", "level", "via")}
    return json.dumps(kept, sort_keys=True, default=str)


class LadderSearch(SavedState):
    """The grid's `points`, rung by rung up `ladder`."""

    def __init__(self, points: list[dict[str, Any]], ladder: Ladder, metric: str, mode: str,
                 seed: int = 0, ranking: dict[str, float] | None = None):
        super().__init__(metric=metric, mode=mode)
        self.ladder, self.seed = ladder, seed
        self.points: dict[str, list[dict[str, Any]]] = {}  # set -> its points (one a seed)
        for each in points:
            self.points.setdefault(set_of(each), []).append(dict(each))
        self.level = 0
        self.owner: dict[str, str] = {}  # running Tune trial id -> its set
        self.values: dict[str, list[float]] = {}  # set -> dev objectives at this rung
        self.decisions: list[dict[str, Any]] = []  # per rung: who went up, and why
        start = self._ranked(ranking) if ladder.rank is not None and ranking else \
            {unit: "start" for unit in self.points}
        self.queue: list[dict[str, Any]] = [{**p, "rung": ladder.rungs[0].name, "level": 0,
                                             "via": start[set_of(p)]}
                                            for p in points if set_of(p) in start]
        self.start, self.start_decisions = list(self.queue), list(self.decisions)
        self.finished = False

    def _ranked(self, ranking: dict[str, float]) -> dict[str, str]:
        """Rung 0, before any training: the sets the ranking predicts best (by the ladder's
        `rank` rule), the audit's share of the others and the set without tasks; the
        set -> how it reached the first trained rung."""
        from sweeper.rank.order import predicted

        scores = {u: predicted(json.loads(u), ranking) for u in self.points
                  if json.loads(u).get("count")}
        ranked = promote(self.ladder.rank, scores, mode="max")
        passed = [u for u in scores if u not in ranked]
        audited = audit(self.ladder.audit, passed, "rank", seed=self.seed)
        reference = [u for u in self.points if not json.loads(u).get("count")]
        self.decisions.append({"rung": "rank", "scores": scores, "promoted": ranked,
                               "audited": audited, "reference": reference})
        chosen = {**{u: "ranked" for u in ranked}, **{u: "rank_audited" for u in audited},
                  **{u: "reference" for u in reference}}
        return {u: chosen[u] for u in self.points if u in chosen}

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        """The next trial of the current rung; None (Tune asks again) while the rung still
        runs and nothing is queued; FINISHED after the last rung, or when nobody went up."""
        if not self.queue:
            if self.owner:
                return None  # the rung is still running: the next waits for all of it
            if self.finished or not self._next_rung():
                return Searcher.FINISHED
        config = self.queue.pop(0)
        self.owner[trial_id] = set_of(config)
        return dict(config)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Keep a finished trial's dev objective for its set (a failed or unscored trial
        gives none: a set without any is never promoted)."""
        unit = self.owner.pop(trial_id, None)
        if unit is None:
            return
        value = (result or {}).get(self.metric)
        kept = self.values.setdefault(unit, [])
        if not error and value is not None and not math.isnan(float(value)):
            kept.append(float(value))

    def _next_rung(self) -> bool:
        """Climb once the rung has finished; False (and finished for good) after the last
        rung, or when nobody went up."""
        if self.level + 1 >= len(self.ladder.rungs) or not self._climb():
            self.finished = True
        return not self.finished

    def restored(self, trials: list[RestoredTrial]) -> None:
        """The ladder as the restored trials have it, whatever its own saved state says:
        from the first rung up, each queued point a restored trial holds is taken by it (a
        finished trial's objective kept, an unfinished one waited for: Tune runs it
        again), and a rung all of whose trials finished climbs, by the same rules and
        seeds, to the rung still under way."""
        held = {point(t.config): t for t in trials}
        self.level, self.values, self.owner, self.finished = 0, {}, {}, False
        self.decisions, self.queue = list(self.start_decisions), list(self.start)
        while True:
            for config in [c for c in self.queue if point(c) in held]:
                self.queue.remove(config)
                trial = held[point(config)]
                self.owner[trial.trial_id] = set_of(config)
                if trial.finished:
                    self.on_trial_complete(trial.trial_id, trial.result)
            if self.queue or self.owner or not self._next_rung():
                return

    def scores(self) -> dict[str, float]:
        """Each set's mean dev objective over its seeds at the current rung (sets with no
        finished trial have none)."""
        return {u: sum(v) / len(v) for u, v in self.values.items() if v}

    def intervals(self) -> dict[str, tuple[float, float]]:
        """95% t intervals of the sets' objectives over their seeds, for sets with three
        or more and some spread (`within_interval` reads a set without one as its point)."""
        from scipy import stats

        out = {}
        for unit, values in self.values.items():
            n = len(values)
            mean = sum(values) / n if n else 0.0
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
            if n >= 3 and sd > 1e-12:
                half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
                out[unit] = (mean - half, mean + half)
        return out

    def _climb(self) -> bool:
        """Decide who goes to the next rung and queue them; False when nobody does."""
        rung = self.ladder.rungs[self.level]
        scores = self.scores()
        promoted = promote(rung.promote, scores, mode=self.mode,
                           intervals=self.intervals()) if rung.promote else []
        passed = [u for u in scores if u not in promoted]
        audited = audit(self.ladder.audit, passed, rung.name, seed=self.seed)
        reference = [u for u in self.points if json.loads(u).get("count") == 0
                     and u not in promoted and u not in audited] if promoted + audited else []
        self.decisions.append({"rung": rung.name, "scores": scores, "promoted": promoted,
                               "audited": audited, "reference": reference})
        self.level += 1
        nxt = self.ladder.rungs[self.level].name
        self.values = {}
        self.queue = [{**p, "rung": nxt, "level": self.level, "via": via}
                      for via, units in (("promoted", promoted), ("audited", audited),
                                         ("reference", reference))
                      for u in units for p in self.points[u]]
        return bool(self.queue)
