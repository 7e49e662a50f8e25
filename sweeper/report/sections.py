"""The report's other sections, from the results table: which tasks helped (ranked on
DEV gains under the selection protocol, test beside), the trial each selection protocol
would pick (strict zero-shot and the oracle, side by side), results kept apart (not
zero-shot, not comparable with XTREME), the licences of the data, trial counts and
caveats. Pure: pandas in, plain dicts out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from sweeper.report.stats import MIN_UNITS, t_interval

BOOTSTRAP = 500
SELECTIONS = {"english_dev": "strict zero-shot: the English dev set",
              "target_dev": "the oracle: target-language dev sets"}


def _clean(rows: pd.DataFrame) -> pd.DataFrame:
    """Finished trials' zero-shot rows, comparable with XTREME."""
    return rows[(rows["status"] == "finished") & (rows["protocol"] == "zero_shot")
                & rows["comparable"]]


def _per_trial(rows: pd.DataFrame, value: str) -> pd.DataFrame:
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


clean, per_trial = _clean, _per_trial  # read by sweeper.report.rungs too


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
    clean = _clean(rows)
    clean = clean[(clean["role"] != "baseline") & (clean["k"] >= 1)]
    if clean.empty:
        return {"ranked_on": None, "tasks": [], "note": "no finished zero-shot trials"}
    trials = _per_trial(clean, "gain")
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
    clean = _clean(rows)
    if clean.empty:
        return {}
    trials = _per_trial(clean, "score")
    gains = _per_trial(clean, "gain")
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


def trial_counts(table: pd.DataFrame) -> dict[str, int]:
    trials = table[table["role"] != "baseline"].groupby("trial_id")["status"].first()
    return {s: int((trials == s).sum()) for s in ("finished", "stopped", "failed", "running")}


def protocols(table: pd.DataFrame, selection: str) -> dict[str, Any]:
    """What every number depends on, named beside it."""
    def values(column: str) -> list[str]:
        return sorted({str(v) for v in table[column].dropna() if str(v)})

    return {"selection": f"{selection} ({SELECTIONS[selection]})",
            "oracle": "target_dev (target-language dev sets), reported beside, never instead",
            "curves": "TEST gains over the baseline run with the same baseline key; "
                      "zero-shot rows comparable with XTREME only",
            "data_source": values("data_source"), "model": values("model"),
            "retrieval_protocol": values("retrieval_protocol"),
            "budget": [b for b in values("budget") if b != "(none)"]}


def _summary(rows: pd.DataFrame) -> dict[str, Any]:
    per_trial = rows.groupby("trial_id")["gain"].mean().dropna()
    mean, low, high = t_interval(per_trial.tolist()) if len(per_trial) else (None, None, None)
    return {"trials": int(rows["trial_id"].nunique()),
            "languages": sorted(rows["language"].unique()), "mean_gain": mean, "low": low,
            "high": high}


def apart(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Finished results that are not zero-shot, per target and protocol (TEST gains)."""
    rows = table[(table["status"] == "finished") & (table["split"] == "test")
                 & (table["protocol"] != "zero_shot") & (table["role"] != "baseline")]
    return [{"target": t, "protocol": p, **_summary(g)}
            for (t, p), g in rows.groupby(["target", "protocol"])]


def not_comparable(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Finished results that differ in kind from XTREME's (BUCC mined over the gold pairs
    only), per target (TEST gains)."""
    rows = table[(table["status"] == "finished") & (table["split"] == "test")
                 & ~table["comparable"] & (table["role"] != "baseline")]
    return [{"target": t, "why": "BUCC from the hub's gold-pair-only configs (no "
                                 "distractor sentences): far easier than XTREME's task",
             **_summary(g)} for t, g in rows.groupby("target")]


def licences(table: pd.DataFrame, catalog: Any) -> list[dict[str, Any]]:
    """The licence of every task whose data the table's numbers used; non-commercial
    ones flagged."""
    names = {t for s in table["tasks"] for t in s.split(",") if t} | set(table["target"])
    out = []
    for name in sorted(names):
        task = catalog.tasks.get(name) if catalog is not None else None
        out.append({"task": name, "license": task.license if task else "not in the catalog",
                    "non_commercial": bool(task and task.is_non_commercial)})
    return out


def notes(table: pd.DataFrame) -> list[str]:
    """Caveats in words."""
    out = []
    counts = trial_counts(table)
    if counts["running"]:
        out.append(f"The sweep is still running: {counts['running']} trial(s) running are "
                   "left out of every number.")
    if counts["stopped"] or counts["failed"]:
        out.append(f"{counts['stopped']} trial(s) stopped by a scheduler and "
                   f"{counts['failed']} failed are left out of every number and counted per "
                   "point.")
    done = table[(table["status"] == "finished") & (table["role"] != "baseline")]
    if done["seed"].nunique() == 1 and len(done):
        out.append("One seed: intervals cover the choice of tasks, not the noise of the seed "
                   "(every gain of a seed shares one baseline run).")
    empty = done[(done["k"] >= 1) & (done["examples_seen"].isna()
                                     | done["distinct_examples"].isna())]["trial_id"].nunique()
    if empty:
        out.append(f"{empty} trial(s) have no examples_seen or distinct_examples: the count "
                   "effects are not adjusted for what is missing.")
    orphans = done[done["score"].notna() & done["gain"].isna()]["trial_id"].nunique()
    if orphans:
        out.append(f"{orphans} trial(s) have no baseline with the same baseline key: they "
                   "have scores but no gains.")
    return out
