"""The report's statistics: means with hierarchical bootstrap intervals and a log trend.

Trials that share a seed share one baseline's noise (every gain of that seed is measured
against the same baseline run), so the bootstrap resamples seeds first, then the task
subsets (trials) within each drawn seed. Fewer than MIN_VALUES values give no interval.
k = 0 is the reference every gain is measured from, never a data point: trends are
fitted on k >= 1 with a free intercept. Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 2000
MIN_VALUES = 3  # fewer independent values than this: no interval

Grouped = dict[str, list]  # seed -> values (gains, or (k, gain) points) of that seed


@dataclass
class Point:
    """Mean gain at one task count, with its 95% interval (None: too few values)."""

    count: int
    n: int  # trials
    seeds: int
    mean: float
    low: float | None
    high: float | None

    @property
    def why_no_interval(self) -> str:
        return (f"{self.n} trial{'s' if self.n != 1 else ''}: too few for an interval "
                f"(needs {MIN_VALUES})")


@dataclass
class Trend:
    slope: float | None  # gain per unit of log(1 + k)
    low: float | None
    high: float | None
    peak: str  # where it turns down, or why it cannot be said
    n: int


def _resample(groups: Grouped, rng: np.random.Generator) -> list[tuple[str, object]]:
    """Seeds drawn with replacement, then each drawn seed's values with replacement."""
    seeds = list(groups)
    out: list[tuple[str, object]] = []
    for s in rng.choice(len(seeds), size=len(seeds)):
        values = groups[seeds[s]]
        out += [(seeds[s], values[i]) for i in rng.choice(len(values), size=len(values))]
    return out


def mean_interval(groups: Grouped, rng: np.random.Generator
                  ) -> tuple[float, float | None, float | None]:
    """(mean, low, high) of all values; the 95% hierarchical bootstrap interval, or None
    with fewer than MIN_VALUES values."""
    values = [v for vs in groups.values() for v in vs]
    mean = float(np.mean(values))
    if len(values) < MIN_VALUES:
        return mean, None, None
    means = [np.mean([v for _, v in _resample(groups, rng)]) for _ in range(BOOTSTRAP)]
    return mean, float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def point(count: int, groups: Grouped, rng: np.random.Generator) -> Point:
    mean, low, high = mean_interval(groups, rng)
    return Point(count, sum(len(v) for v in groups.values()), len(groups), mean, low, high)


def fit_trend(points: dict[str, list[tuple[int, float]]], rng: np.random.Generator) -> Trend:
    """Least squares gain ~ a + b log(1 + k) over k >= 1 (seed -> (k, gain) points), a
    hierarchical bootstrap interval for b, and where a quadratic in log(1 + k) turns."""
    flat = [(k, g) for pts in points.values() for k, g in pts if k >= 1]
    ks = sorted({k for k, _ in flat})
    if len(flat) < MIN_VALUES or len(ks) < 2:
        return Trend(None, None, None, "too few trials or task counts for a trend", len(flat))
    x = np.log1p([k for k, _ in flat])
    y = np.asarray([g for _, g in flat])
    slope = float(np.polyfit(x, y, 1)[0])
    grouped = {s: [(k, g) for k, g in pts if k >= 1] for s, pts in points.items()}
    grouped = {s: pts for s, pts in grouped.items() if pts}
    boots = []
    for _ in range(BOOTSTRAP):
        sample = [kg for _, kg in _resample(grouped, rng)]
        bx = np.log1p([k for k, _ in sample])
        if len(set(bx)) > 1:
            boots.append(np.polyfit(bx, [g for _, g in sample], 1)[0])
    low, high = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))) \
        if len(boots) > BOOTSTRAP // 2 else (None, None)
    if len(ks) < 3:
        peak = "needs three or more task counts to say where it turns"
    else:
        c2, c1, _ = np.polyfit(x, y, 2)
        vertex = -c1 / (2 * c2) if c2 else math.inf
        if c2 < 0 and x.min() < vertex < x.max():
            peak = f"peaks near {math.expm1(vertex):.1f} tasks, then turns down"
        else:
            peak = f"no turn-down within {ks[0]}..{ks[-1]} tasks"
    return Trend(slope, low, high, peak, len(flat))
