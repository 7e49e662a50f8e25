"""The answer to the research question, computed from a sweep's trial runs.

Per target, language tier and language: each trial's gain over its baseline (the run
without intermediate tasks that has the same baseline key: same model, target-phase and
evaluation settings, seed and data), scaling curves of
mean gain vs number of tasks for English / non-English / mixed sets with 95% bootstrap
intervals over trials (seeds and task subsets), a fitted trend gain ~ a + b*log(1+k)
with an interval for b and where it turns down, and which tasks helped most. Runs that
are not zero-shot (translate-train, in-language) are kept apart. Pure: plain dicts in,
dataclasses out; no mlflow here (see sweeper.sweep.tracking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sweeper.catalog import Catalog
from sweeper.scoring.xtreme import main_metric
from sweeper.sweep.tracking import BASELINE_KEY_TAG

MIXES = ("english", "non_english", "mixed")
BOOTSTRAP = 2000
TIERS = ("all", "low", "mid", "high")


@dataclass
class Trial:
    """One child run, reduced to what the report needs."""

    run_id: str
    name: str
    tasks: list[str]
    mix: str
    seed: str
    protocol: str
    key: str  # baseline key: a baseline must have the same (see sweeper.trial.keys)
    scores: dict[str, dict[str, float]]  # target -> lang -> main metric
    settings: str = ""  # seed, lr and model, to name a trial that has no baseline
    gains: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline: str | None = None

    @property
    def count(self) -> int:
        return len(self.tasks)


@dataclass
class Point:
    """Mean gain at one task count, with its bootstrap interval (None: too few trials)."""

    count: int
    n: int
    mean: float
    low: float | None
    high: float | None


@dataclass
class Trend:
    slope: float | None  # gain per unit of log(1 + k)
    low: float | None
    high: float | None
    peak: str  # where it turns down, or why it cannot be said
    n: int


@dataclass
class Report:
    trials: list[Trial]
    curves: dict[str, dict[str, dict[str, list[Point]]]]  # target -> tier -> mix -> points
    trends: dict[str, dict[str, dict[str, Trend]]]  # target -> tier -> mix|"pooled" -> trend
    helped: dict[str, list[dict[str, Any]]]  # target -> tasks by mean gain difference
    missing_baselines: list[str]
    apart: list[Trial]  # not zero-shot
    notes: list[str]


def _mix(params: dict[str, str], catalog: Catalog, tasks: list[str]) -> str:
    if params.get("mix") in MIXES:
        return params["mix"]
    if not tasks:
        return "none"
    non_en = sum(not catalog.task(t).is_english for t in tasks)
    return "english" if non_en == 0 else "non_english" if non_en == len(tasks) else "mixed"


def trial_from_row(row: dict[str, Any], catalog: Catalog, split: str = "test") -> Trial | None:
    """A Trial from a run row (see tracking.run_rows), scored on `split` (the report's
    numbers are TEST numbers); None for runs without scores."""
    params, metrics = row["params"], row["metrics"]
    tasks = [t for t in params.get("tasks", "").split(",") if t and t != "(none)"]
    values: dict[str, dict[str, dict[str, float]]] = {}
    for name, value in metrics.items():
        parts = name.split(".")
        if len(parts) == 4 and parts[0] == split and parts[1] in catalog.tasks \
                and parts[2] in catalog.languages:
            values.setdefault(parts[1], {}).setdefault(parts[2], {})[parts[3]] = value
    scores = {t: {lang: main_metric(t, v) for lang, v in langs.items()}
              for t, langs in values.items()}
    if not scores:
        return None
    key = row["tags"].get(BASELINE_KEY_TAG, "")
    protocol = row["tags"].get("protocol", "zero_shot")
    settings = ", ".join(f"{k}={params[k]}" for k in ("seed", "lr", "model") if k in params)
    return Trial(row["run_id"], row["name"] or row["run_id"], tasks, _mix(params, catalog, tasks),
                 params.get("seed", ""), protocol, key, scores, settings)


def attach_baselines(trials: list[Trial]) -> list[str]:
    """Fill each trial's gains from its baseline; names the trials that have none."""
    baselines: dict[str, list[Trial]] = {}
    for t in trials:
        if t.count == 0:
            baselines.setdefault(t.key, []).append(t)
    missing = []
    for t in trials:
        base = baselines.get(t.key) if t.key else None
        if not base:
            missing.append(f"{t.name}: no baseline (0 tasks) with the same baseline key "
                           f"{t.key or '(none logged)'} ({t.settings})")
            continue
        t.baseline = base[0].run_id
        for target, langs in t.scores.items():
            for lang, score in langs.items():
                ref = [b.scores.get(target, {}).get(lang) for b in base]
                ref = [r for r in ref if r is not None]
                if ref:
                    t.gains.setdefault(target, {})[lang] = score - sum(ref) / len(ref)
    return missing


def tier_gain(trial: Trial, target: str, tier: str, catalog: Catalog) -> float | None:
    gains = [g for lang, g in trial.gains.get(target, {}).items()
             if tier == "all" or catalog.tier(lang) == tier]
    return sum(gains) / len(gains) if gains else None


def bootstrap_mean(values: list[float], rng: np.random.Generator) -> tuple[float | None, ...]:
    """95% percentile interval of the mean; (None, None) with fewer than two values."""
    if len(values) < 2:
        return None, None
    arr = np.asarray(values)
    means = arr[rng.integers(0, len(arr), size=(BOOTSTRAP, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def fit_trend(points: list[tuple[int, float]], rng: np.random.Generator) -> Trend:
    """Least squares gain ~ a + b*log(1+k), bootstrap interval for b, and a turn-down."""
    ks = sorted({k for k, _ in points})
    if len(points) < 3 or len(ks) < 2:
        return Trend(None, None, None, "too few task counts for a trend", len(points))
    x = np.log1p([k for k, _ in points])
    y = np.asarray([g for _, g in points])
    slope = float(np.polyfit(x, y, 1)[0])
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(x), size=len(x))
        if len(set(x[idx])) > 1:
            boots.append(np.polyfit(x[idx], y[idx], 1)[0])
    low, high = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))) \
        if len(boots) > 10 else (None, None)
    if len(ks) < 3:
        peak = "needs three or more task counts to say where it turns"
    else:
        c2, c1, _ = np.polyfit(x, y, 2)
        vertex = -c1 / (2 * c2) if c2 else math.inf
        if c2 < 0 and x.min() < vertex < x.max():
            peak = f"peaks near {math.expm1(vertex):.1f} tasks, then turns down"
        else:
            peak = f"no turn-down within {ks[0]}..{ks[-1]} tasks"
    return Trend(slope, low, high, peak, len(points))


def build(rows: list[dict[str, Any]], catalog: Catalog, seed: int = 0) -> Report:
    """Everything the report shows, from the sweep's child-run rows."""
    rng = np.random.default_rng(seed)
    trials = [t for t in (trial_from_row(r, catalog) for r in rows) if t is not None]
    zero_shot = [t for t in trials if t.protocol == "zero_shot"]
    apart = [t for t in trials if t.protocol != "zero_shot"]
    missing = attach_baselines(zero_shot) + attach_baselines(apart)
    targets = sorted({target for t in zero_shot for target in t.scores})
    curves: dict = {}
    trends: dict = {}
    helped: dict = {}
    notes: list[str] = []
    for target in targets:
        for tier in TIERS:
            by_mix: dict[str, list[tuple[int, float]]] = {}
            for t in zero_shot:
                g = tier_gain(t, target, tier, catalog)
                if g is None:
                    continue
                mixes = MIXES if t.count == 0 else (t.mix,)  # baselines anchor every curve
                for mix in mixes:
                    by_mix.setdefault(mix, []).append((t.count, g))
            if not by_mix:
                continue
            for mix, pts in by_mix.items():
                if all(k == 0 for k, _ in pts):
                    continue
                curve = []
                for k in sorted({k for k, _ in pts}):
                    vals = [g for kk, g in pts if kk == k]
                    low, high = bootstrap_mean(vals, rng)
                    curve.append(Point(k, len(vals), sum(vals) / len(vals), low, high))
                curves.setdefault(target, {}).setdefault(tier, {})[mix] = curve
                trends.setdefault(target, {}).setdefault(tier, {})[mix] = fit_trend(pts, rng)
            pooled = sorted({(t.run_id, t.count, tier_gain(t, target, tier, catalog))
                             for t in zero_shot if tier_gain(t, target, tier, catalog) is not None})
            trends.setdefault(target, {}).setdefault(tier, {})["pooled"] = fit_trend(
                [(k, g) for _, k, g in pooled], rng)
        helped[target] = task_effects(zero_shot, target, catalog)
    if any(p.low is None for c in curves.values() for m in c.values() for pts in m.values()
           for p in pts):
        notes.append("Some points rest on a single trial: no interval is given for them "
                     "(add seeds or `draws` for intervals).")
    return Report(trials, curves, trends, helped, missing, apart, notes)


def task_effects(trials: list[Trial], target: str, catalog: Catalog) -> list[dict[str, Any]]:
    """Mean gain (all languages) of trials with a task minus trials without it."""
    with_tasks = [(set(t.tasks), tier_gain(t, target, "all", catalog))
                  for t in trials if t.count > 0]
    with_tasks = [(s, g) for s, g in with_tasks if g is not None]
    out = []
    for task in sorted({x for s, _ in with_tasks for x in s}):
        inside = [g for s, g in with_tasks if task in s]
        outside = [g for s, g in with_tasks if task not in s]
        out.append({"task": task, "n_with": len(inside), "n_without": len(outside),
                    "mean_with": sum(inside) / len(inside),
                    "effect": (sum(inside) / len(inside) - sum(outside) / len(outside))
                    if outside else None})
    return sorted(out, key=lambda r: -(r["effect"] if r["effect"] is not None else -1e9))
