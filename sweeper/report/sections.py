"""The report's task and trial sections, from the results table: which tasks helped
(ranked on DEV gains under the selection protocol, test beside) and the trial each
selection protocol would pick (strict zero-shot and the oracle, side by side), read
from the finished zero-shot rows (`clean`) per trial (`per_trial`). Pure: pandas in,
plain dicts out (the listings: sweeper.report.listings).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from sweeper.report.stats import MIN_UNITS

BOOTSTRAP = 500
SELECTIONS = {"english_dev": "strict zero-shot: the English dev set",
              "target_dev": "the oracle: target-language dev sets"}


def clean(rows: pd.DataFrame) -> pd.DataFrame:
    """Finished trials' zero-shot rows, comparable with XTREME."""
    return rows[(rows["status"] == "finished") & (rows["protocol"] == "zero_shot")
                & rows["comparable"]]


def per_trial(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per trial: English dev, target-language dev (oracle) and test means of `value`."""
    def mean(split: str, english: bool | None) -> pd.Series:
        part = rows[rows["split"] == split]
        if english is not None:
            part = part[(part["language"] == "en") == english]
        return part.groupby("trial_id")[value].mean()

    first = rows.groupby("trial_id").agg(tasks=("tasks", "first"), k=("k", "first"),
                                         seed=("seed", "first"), chain=("chain", "first"))
    return first.assign(english_dev=mean("dev", True), target_dev=mean("dev", False),
                        test=mean("test", None), test_low=rows[
                            (rows["split"] == "test") & (rows["tier"] == "low")
                        ].groupby("trial_id")[value].mean())


class TaskEffects:
    """Each task's effect on one column at equal set size: the mean with the task minus
    the mean without it within each size, averaged over sizes weighted by the sets with
    it; computed for every task at once, so that resampling the sets is cheap."""

    def __init__(self, trials: pd.DataFrame, tasks: list[str]):
        self.tasks = tasks
        self.strata = []
        for _, group in trials.groupby("k"):
            has = np.array([[t in s.split(",") for t in tasks] for s in group["tasks"]])
            self.strata.append((has, group))

    def effect(self, column: str, picks: list[np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(effect per task, NaN where no size has sets with and without it; sets with;
        sets without)."""
        num = np.zeros(len(self.tasks))
        den, n_with, n_without = num.copy(), num.copy(), num.copy()
        for i, (has, group) in enumerate(self.strata):
            values = group[column].to_numpy(float)
            if picks is not None:
                has, values = has[picks[i]], values[picks[i]]
            ok = ~np.isnan(values)
            has, values = has[ok], values[ok]
            inside, outside = has.sum(0), (~has).sum(0)
            both = (inside > 0) & (outside > 0)
            mean_in = np.where(inside > 0, (has * values[:, None]).sum(0)
                               / np.maximum(inside, 1), 0)
            mean_out = np.where(outside > 0, (~has * values[:, None]).sum(0)
                                / np.maximum(outside, 1), 0)
            num += np.where(both, inside * (mean_in - mean_out), 0)
            den += np.where(both, inside, 0)
            n_with += np.where(both, inside, 0)
            n_without += np.where(both, outside, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan), n_with, n_without

    def intervals(self, column: str, rng: np.random.Generator) -> np.ndarray:
        """95% bootstrap intervals per task (rows: low, high): sets resampled within each
        size; NaN where too few resamples have an effect."""
        draws = np.array([self.effect(column, [rng.integers(0, len(g), size=len(g))
                                               for _, g in self.strata])[0]
                          for _ in range(BOOTSTRAP)])
        enough = np.sum(~np.isnan(draws), axis=0) >= BOOTSTRAP // 2
        with warnings.catch_warnings():  # a task never compared at equal size: all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            bounds = np.nanpercentile(draws, [2.5, 97.5], axis=0)
        flat = bounds[1] - bounds[0] <= 1e-12
        return np.where(enough & ~flat, bounds, np.nan)


def helped(rows: pd.DataFrame, selection: str, rng: np.random.Generator) -> dict[str, Any]:
    """Each task's effect at equal set size on the selection protocol's DEV gains, with
    its interval; the oracle's dev and the test effects beside it, never instead."""
    kept = clean(rows)
    kept = kept[(kept["role"] != "baseline") & (kept["k"] >= 1)]
    if kept.empty:
        return {"ranked_on": None, "tasks": [], "note": "no finished zero-shot trials"}
    trials = per_trial(kept, "gain")
    trials = trials.groupby(["seed", "tasks"], as_index=False).mean(numeric_only=True)
    names = sorted({t for s in trials["tasks"] for t in s.split(",") if t})
    effects = TaskEffects(trials, names)
    other = "target_dev" if selection == "english_dev" else "english_dev"
    dev, n_with, n_without = effects.effect(selection)
    bounds = effects.intervals(selection, rng)
    beside, test = effects.effect(other)[0], effects.effect("test")[0]
    out = []
    for i, task in enumerate(names):
        thin = n_with[i] < MIN_UNITS or n_without[i] < MIN_UNITS
        out.append({"task": task, "dev": _float(dev[i]),
                    "low": None if thin else _float(bounds[0, i]),
                    "high": None if thin else _float(bounds[1, i]),
                    "with": int(n_with[i]), "without": int(n_without[i]),
                    other: _float(beside[i]), "test": _float(test[i])})
    ranked = [r for r in out if r["dev"] is not None]
    note = None
    if not ranked:
        note = (f"no {SELECTIONS[selection]} numbers to rank on"
                + (" (this target has no English dev set)" if selection == "english_dev"
                   else "") + ": tasks are not ranked")
    ranked.sort(key=lambda r: -r["dev"])
    return {"ranked_on": selection if ranked else None, "note": note,
            "tasks": ranked + sorted([r for r in out if r["dev"] is None],
                                     key=lambda r: r["task"])}


def selected(rows: pd.DataFrame) -> dict[str, Any]:
    """The trial each selection protocol picks by its DEV scores, with its TEST numbers:
    strict zero-shot (English dev) beside the oracle (target-language dev)."""
    kept = clean(rows)
    if kept.empty:
        return {}
    trials = per_trial(kept, "score")
    gains = per_trial(kept, "gain")
    out = {}
    for protocol in ("english_dev", "target_dev"):
        scored = trials[protocol].dropna()
        if scored.empty:
            out[protocol] = {"note": "no dev numbers for this protocol"}
            continue
        best = _best(trials, scored)
        out[protocol] = {"trial_id": best, "tasks": trials.loc[best, "tasks"],
                         "k": int(trials.loc[best, "k"]), "dev": float(scored.max()),
                         "test": float(trials.loc[best, "test"]),
                         "test_low": _float(trials.loc[best, "test_low"]),
                         "test_gain": _float(gains.loc[best, "test"])}
    return out


def _best(trials: pd.DataFrame, scored: pd.Series) -> Any:
    """The trial with the highest dev score. Ties (the same set in two chains, or two
    sets that score alike on a small dev set) go to the fewest tasks, then by tasks, seed
    and chain: by the trial, never by its run id, which differs between two runs of one
    sweep (a sweep resumed after a fault picks what the fault-free run picked)."""
    tied = trials.loc[scored.index[scored == scored.max()]]
    order = tied.assign(_chain=tied["chain"].astype(str)).sort_values(
        ["k", "tasks", "seed", "_chain"], kind="stable")
    return order.index[0]


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
