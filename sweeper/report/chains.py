"""Chain designs: paired marginal gains, Shapley-style task values, the diminishing-returns
profile.

A chain is a random order of a pool; its trial at position k trains the first k tasks.
Each position then adds one task to the set before it, so the difference of the two
gains is that task's marginal contribution in that context (position 0 is the baseline,
gain 0 by definition). A task's value is its mean marginal contribution over the chains
(and seeds) it appears in: Data Shapley's permutation estimate (Ghorbani & Zou 2019),
truncated at the chains' length. The first task of every chain of a seed is measured
against that seed's one baseline run, so intervals come from a hierarchical bootstrap:
seeds with replacement, then chains within each drawn seed. Pure: pandas and numpy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from sweeper.report.bootstrap import BOOTSTRAP
from sweeper.report.stats import MIN_UNITS


def marginals(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per (seed, chain, position): the task it adds and its marginal gain.
    `trials` holds one row per chain trial (columns seed, chain, k, added, y); a position
    whose predecessor is missing (stopped, failed) gives no marginal."""
    out = []
    for (seed, chain), group in trials.groupby(["seed", "chain"], sort=True):
        gains = dict(zip(group["k"].astype(int), group["y"]))
        added = dict(zip(group["k"].astype(int), group["added"]))
        for k in sorted(gains):
            before = 0.0 if k == 1 else gains.get(k - 1)
            if before is None or pd.isna(before) or pd.isna(gains[k]):
                continue
            out.append({"seed": seed, "chain": chain, "k": k, "task": added[k],
                        "marginal": float(gains[k] - before)})
    return pd.DataFrame(out, columns=["seed", "chain", "k", "task", "marginal"])


def _by_chain(steps: pd.DataFrame, column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A (seed, chain) x `column` matrix of marginal gains (NaN where a chain has none) and
    each row's seed index."""
    matrix = steps.pivot_table(index=["seed", "chain"], columns=column, values="marginal",
                               aggfunc="mean")
    return matrix, pd.factorize(matrix.index.get_level_values(0))[0]


def _intervals(matrix: pd.DataFrame, seeds: np.ndarray, rng: np.random.Generator
               ) -> list[dict[str, Any]]:
    """Per column: mean over chains, 95% hierarchical bootstrap interval (seeds, then
    chains within them), and how many chains hold it; no interval from fewer than
    MIN_UNITS chains or without spread."""
    values = matrix.to_numpy(float)
    groups = [np.flatnonzero(seeds == s) for s in range(seeds.max() + 1)]
    draws = np.empty((BOOTSTRAP, values.shape[1]))
    for b in range(BOOTSTRAP):
        rows = np.concatenate([g[rng.integers(0, len(g), size=len(g))]
                               for g in (groups[i] for i in rng.integers(0, len(groups),
                                                                        size=len(groups)))])
        with warnings.catch_warnings():  # a task no drawn chain holds: NaN, left out
            warnings.simplefilter("ignore", RuntimeWarning)
            draws[b] = np.nanmean(values[rows], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    counts = np.sum(~np.isnan(values), axis=0)
    out = []
    for j, name in enumerate(matrix.columns):
        ok = counts[j] >= MIN_UNITS and np.isfinite(low[j]) and high[j] - low[j] > 1e-12
        out.append({"name": name, "mean": float(np.nanmean(values[:, j])),
                    "low": float(low[j]) if ok else None, "high": float(high[j]) if ok else None,
                    "n": int(counts[j])})
    return out


def task_values(steps: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Each task's mean marginal gain over the chains it appears in, with its 95%
    interval, best first."""
    if steps.empty:
        return []
    matrix, seeds = _by_chain(steps, "task")
    where = steps.groupby("task")["k"].mean()
    rows = [{"task": r["name"], "value": r["mean"], "low": r["low"], "high": r["high"],
             "chains": r["n"], "mean_position": float(where[r["name"]])}
            for r in _intervals(matrix, seeds, rng)]
    return sorted(rows, key=lambda r: -r["value"])


def profile(steps: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The mean marginal gain of the k-th task added, over chains: how the returns of
    one more task change with the number already in."""
    if steps.empty:
        return []
    matrix, seeds = _by_chain(steps, "k")
    return [{"k": int(r["name"]), "mean": r["mean"], "low": r["low"], "high": r["high"],
             "n": r["n"]} for r in _intervals(matrix, seeds, rng)]


def describe(steps: pd.DataFrame) -> str | None:
    """Why values are missing, in words (None when every task has an interval)."""
    thin = steps.groupby("task").size()
    thin = thin[thin < MIN_UNITS]
    if thin.empty:
        return None
    return (f"{len(thin)} task(s) appear in fewer than {MIN_UNITS} chains and get no "
            "interval: add permutations")
