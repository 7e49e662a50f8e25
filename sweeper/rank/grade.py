"""The ranking logged before a sweep, graded against what the sweep measured.

The measured value of a task is the mean gain of the trials that trained on it ALONE
(one intermediate task), over the ranking's target languages, per split (dev, test),
averaged over seeds. Each signal alone and the combination are graded by:

- Spearman's and Kendall's rank correlations with the measured values;
- NDCG@k (linear gains, Jarvelin and Kekalainen's discount 1/log2(i+1), relevance = the
  measured value minus the smallest one, so every relevance is >= 0);
- Regret@k: the best measured value less the best among the k top-ranked tasks, in gain
  points (the absolute form; Poth et al. 2021 divide by the best, which a gain near zero
  makes unstable).

Intervals are 95% percentile intervals of 1,000 resamples of the seeds (each task's
per-seed values resampled), and are given only where every graded task has at least
three seeds; an interval that comes out of zero width is not given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

MIN_SEEDS = 3
MIN_TASKS = 3
RESAMPLES = 1000
K = 3


def measured(table: pd.DataFrame, target: str, languages: list[str], split: str
             ) -> dict[str, dict[int, float]]:
    """Task -> {seed: mean gain over the languages} from single-task finished trials,
    within one budget arm (the one with most such trials): arms differ in the data a
    task is trained on, which the ranking does not predict."""
    rows = table[(table["target"] == target) & (table["split"] == split) &
                 (table["k"] == 1) & (table["status"] == "finished") &
                 (table["language"].isin(languages)) & table["gain"].notna()]
    if rows.empty:
        return {}
    if "budget" in rows and rows["budget"].nunique(dropna=False) > 1:
        arm = rows["budget"].astype(str).value_counts().sort_index().idxmax()
        rows = rows[rows["budget"].astype(str) == arm]
    means = rows.groupby(["tasks", "seed"])["gain"].mean()
    out: dict[str, dict[int, float]] = {}
    for (task, seed), value in means.items():
        out.setdefault(str(task), {})[int(seed)] = float(value)
    return out


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank)."""
    return np.apply_along_axis(stats.rankdata, -1, v)


def metrics_many(x: np.ndarray, values: np.ndarray, k: int = K) -> dict[str, np.ndarray]:
    """Every metric for predicted scores `x` (tasks) against each row of `values`
    (resamples x tasks)."""
    pairs = np.triu_indices(len(x), 1)
    dx = np.sign(x[:, None] - x[None, :])[pairs]
    dy = np.sign(values[:, :, None] - values[:, None, :])[:, pairs[0], pairs[1]]
    norm = np.sqrt(float((dx != 0).sum()) * (dy != 0).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        kendall = np.where(norm > 0, (dy * dx).sum(axis=1) / norm, np.nan)
        rx, ry = _ranks(x), _ranks(values)
        rx, ry = rx - rx.mean(), ry - ry.mean(axis=1, keepdims=True)
        den = np.sqrt((rx ** 2).sum() * (ry ** 2).sum(axis=1))
        spearman = np.where(den > 0, (ry * rx).sum(axis=1) / den, np.nan)
    top = np.argsort(-x, kind="stable")[:k]
    rel = values - values.min(axis=1, keepdims=True)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    gain = (rel[:, top] * discount[:len(top)]).sum(axis=1)
    best = (np.sort(rel, axis=1)[:, ::-1][:, :k] * discount[:min(k, rel.shape[1])]).sum(axis=1)
    ndcg = np.where(best > 0, gain / np.where(best > 0, best, 1.0), 1.0)
    regret = values.max(axis=1) - values[:, top].max(axis=1)
    if len(set(x.tolist())) < 2:
        spearman = kendall = np.full(len(values), np.nan)
    return {"spearman": spearman, "kendall": kendall, f"ndcg@{k}": ndcg, f"regret@{k}": regret}


def metrics(scores: dict[str, float], values: dict[str, float], k: int = K) -> dict[str, float]:
    """The metrics of one ranking against one set of measured values."""
    tasks = sorted(values)
    found = metrics_many(np.array([scores[t] for t in tasks]),
                         np.array([[values[t] for t in tasks]]), k)
    return {name: float(v[0]) for name, v in found.items()}


def _interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if len(finite) < RESAMPLES // 2:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return (None, None) if high - low <= 0 else (float(low), float(high))


def resampled(per_seed: dict[str, dict[int, float]], tasks: list[str], seed: int = 0
              ) -> np.ndarray:
    """RESAMPLES x tasks: each task's mean over a resample of its seeds."""
    rng = np.random.default_rng(seed)
    columns = []
    for t in tasks:
        v = np.array(list(per_seed[t].values()))
        columns.append(v[rng.integers(0, len(v), (RESAMPLES, len(v)))].mean(axis=1))
    return np.stack(columns, axis=1)


def grade_one(scores: dict[str, float], per_seed: dict[str, dict[int, float]],
              draws: np.ndarray | None) -> dict[str, Any]:
    """Each metric with its interval (from `draws`, the resampled values), for one
    signal's scores."""
    tasks = sorted(per_seed)
    values = {t: float(np.mean(list(per_seed[t].values()))) for t in tasks}
    point = metrics({t: scores[t] for t in tasks}, values)
    out: dict[str, Any] = {name: {"estimate": v, "low": None, "high": None}
                           for name, v in point.items()}
    if draws is None:
        return {**out, "note": f"no intervals: fewer than {MIN_SEEDS} seeds per task"}
    for name, samples in metrics_many(np.array([scores[t] for t in tasks]), draws).items():
        out[name]["low"], out[name]["high"] = _interval(samples)
    return out


def grade(ranking: dict[str, Any], table: pd.DataFrame) -> dict[str, Any]:
    """Per target and split: how well each signal and the combination predicted."""
    out: dict[str, Any] = {"method": __doc__.split("\n\n")[1].replace("\n", " "),
                           "k": K, "targets": {}}
    for target, ranked in ranking.get("targets", {}).items():
        rows = ranked["rows"]
        signals = {"combined": {r["task"]: r["score"] for r in rows}}
        for name in rows[0]["signals"] if rows else []:
            signals[name] = {r["task"]: r["signals"][name] for r in rows}
        per_target: dict[str, Any] = {"languages": ranked["languages"]}
        for split in ("dev", "test"):
            per_seed = measured(table, target, ranked["languages"], split)
            per_seed = {t: v for t, v in per_seed.items() if t in signals["combined"]}
            if len(per_seed) < MIN_TASKS:
                per_target[split] = {"note": f"{len(per_seed)} task(s) trained alone: "
                                             f"fewer than {MIN_TASKS} to grade a ranking on"}
                continue
            tasks = sorted(per_seed)
            enough = min(len(per_seed[t]) for t in tasks) >= MIN_SEEDS
            draws = resampled(per_seed, tasks) if enough else None
            per_target[split] = {"tasks": len(per_seed), **{
                name: grade_one(s, per_seed, draws) for name, s in signals.items()}}
        out["targets"][target] = per_target
    return out
