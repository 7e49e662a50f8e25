"""The report's statistics: the count effect as a cluster-robust regression, with a
hierarchical bootstrap beside it as a check, means with intervals, and where a curve
turns down.

The count effect is the slope of the test gain on log(1 + k), k >= 1, adjusted for the
log of the distinct examples and of the examples seen where they vary (a covariate that
is the same for every trial is held fixed by the design, and says so), with fixed
effects for what the gains of a group share (a seed's baseline; a chain's). Standard
errors are clustered by the resampling unit (a distinct task set within a seed, or a
chain within a seed: a set that recurs under other settings is one unit) and the
interval uses Student's t with G - 1 degrees of freedom. Nothing is estimated from fewer
than MIN_UNITS units or MIN_COUNTS distinct task counts, a zero-width interval is never
given, and a design in which the count cannot be told apart from the covariates says so
instead of guessing. The design matrix is built in sweeper.report.design, the bootstrap
check drawn in sweeper.report.bootstrap. Pure: numpy, pandas, statsmodels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sweeper.report.bootstrap import BOOTSTRAP, Resampler, slope, slope_interval
from sweeper.report.design import design, separable

MIN_UNITS = 3  # fewer independent units than this: no interval
MIN_COUNTS = 3  # fewer distinct task counts than this: no slope
SEPARABLE_R2 = 0.99  # log(1+k) explained this well by the covariates: not separable
COVARIATES = {"distinct_examples": "log distinct examples", "examples_seen": "log examples seen"}


@dataclass
class Effect:
    """A slope per unit of log(1 + k) with its 95% interval, or why there is none."""

    estimate: float | None
    low: float | None
    high: float | None
    adjusted_for: list[str] = field(default_factory=list)
    held_fixed: list[str] = field(default_factory=list)  # constant in the design
    units: int = 0
    counts: int = 0
    method: str = "OLS, cluster-robust by unit, t(G-1)"
    note: str | None = None
    bootstrap: dict[str, float] | None = None  # the check: hierarchical percentile interval

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _no(note: str, units: int, counts: int, **kw: Any) -> Effect:
    return Effect(None, None, None, units=units, counts=counts, note=note, **kw)


def count_effect(frame: pd.DataFrame, *, covariates: list[str] | None = None,
                 effects: tuple[str, ...] = ("seed",), boot: bool = True,
                 rng: np.random.Generator | None = None) -> Effect:
    """The count effect in `frame` (columns y, k, unit, seed, the covariates, the effect
    columns; k >= 1 rows), adjusted for `covariates` where they vary."""
    from statsmodels.regression.linear_model import OLS

    frame = frame[(frame["k"] >= 1) & frame["y"].notna()]
    units, counts = frame["unit"].nunique(), frame["k"].nunique()
    if units < MIN_UNITS or counts < MIN_COUNTS:
        return _no(f"rests on {units} unit(s) and {counts} task count(s): a slope and its "
                   f"interval need {MIN_UNITS} or more of each", units, counts)
    wanted = list(covariates or [])
    matrix, head, info = design(frame, wanted, [e for e in effects if e in frame])
    adjusted = [c for c in wanted if c in head]
    kw = {"adjusted_for": adjusted, "held_fixed": info["held_fixed"] + info["redundant"]}
    r2 = separable(matrix, len(adjusted))
    if r2 > SEPARABLE_R2:
        return _no(f"the design cannot separate the number of tasks from "
                   f"{', '.join(COVARIATES[c] for c in adjusted)} (they move together: "
                   f"R² = {r2:.3f}); add a design that varies them apart (budget arms)",
                   units, counts, **kw)
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        return _no("the design's columns are collinear: no slope", units, counts, **kw)
    groups = pd.factorize(frame["unit"])[0]
    fit = OLS(frame["y"].to_numpy(float), matrix).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    low, high = (float(v) for v in fit.conf_int(0.05)[1])
    estimate, se = float(fit.params[1]), float(fit.bse[1])
    if not (math.isfinite(se) and se > 1e-9 * max(1.0, abs(estimate))):
        return _no("the gains leave no variation around the fit (a zero-width interval is "
                   "not an interval)", units, counts, **kw)
    effect = Effect(estimate, low, high, units=units, counts=counts, **kw)
    effect.note = _adjustment_note(info)
    if boot:
        effect.bootstrap = slope_interval(frame, matrix, 1, rng or np.random.default_rng(0))
    return effect


def _adjustment_note(info: dict[str, list[str]]) -> str | None:
    notes = []
    if info["held_fixed"]:
        notes.append("held fixed by the design: " + ", ".join(COVARIATES[c]
                                                             for c in info["held_fixed"]))
    if info["redundant"]:
        notes.append(", ".join(COVARIATES[c] for c in info["redundant"]) + " moves with the "
                     "covariates already in (a fixed number of passes): adjusted through them")
    if info["missing"]:
        notes.append("not adjusted for " + ", ".join(COVARIATES[c] for c in info["missing"])
                     + ": the column is empty")
    return "; ".join(notes) or None


def mean_interval(frame: pd.DataFrame, rng: np.random.Generator
                  ) -> tuple[float, float | None, float | None]:
    """(mean, low, high) of the unit means in `frame` (columns y, unit, seed): a 95%
    hierarchical bootstrap interval, or None from fewer than MIN_UNITS units or where it
    would have no width."""
    units = frame.groupby("unit").agg(y=("y", "mean"), seed=("seed", "first"))
    mean = float(units["y"].mean())
    if len(units) < MIN_UNITS:
        return mean, None, None
    groups = [g["y"].to_numpy() for _, g in units.groupby("seed")]
    means = []
    for _ in range(BOOTSTRAP):
        picked = [groups[i] for i in rng.choice(len(groups), size=len(groups))]
        means.append(np.mean(np.concatenate([v[rng.choice(len(v), size=len(v))]
                                             for v in picked])))
    low, high = np.percentile(means, [2.5, 97.5])
    if high - low <= 1e-12:
        return mean, None, None
    return mean, float(low), float(high)


def t_interval(values: list[float]) -> tuple[float, float | None, float | None]:
    """Mean and 95% t interval of independent values (None: fewer than MIN_UNITS, or no
    spread)."""
    from scipy import stats

    arr = np.asarray(values, float)
    mean = float(arr.mean())
    if len(arr) < MIN_UNITS or float(arr.std(ddof=1)) <= 1e-12:
        return mean, None, None
    half = float(stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr)))
    return mean, mean - half, mean + half


def peak(frame: pd.DataFrame, *, covariates: list[str], effects: tuple[str, ...],
         rng: np.random.Generator) -> dict[str, Any]:
    """Where the curve turns down, with its interval: only where a quadratic in
    log(1 + k) bends down with confidence, its vertex lies inside the grid, and the
    vertex stays inside in at least 80% of hierarchical resamples."""
    from statsmodels.regression.linear_model import OLS

    frame = frame[(frame["k"] >= 1) & frame["y"].notna()]
    ks = sorted(frame["k"].unique())
    if frame["unit"].nunique() < MIN_UNITS or len(ks) < 4:
        return {"k": None, "note": "a turn needs 4 or more task counts and 3 or more units"}
    matrix, head, _ = design(frame, covariates, [e for e in effects if e in frame],
                             quadratic=True)
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        return {"k": None, "note": "collinear design: no turn can be placed"}
    y = frame["y"].to_numpy(float)
    fit = OLS(y, matrix).fit(cov_type="cluster", use_t=True,
                                cov_kwds={"groups": pd.factorize(frame["unit"])[0]})
    b, c = float(fit.params[1]), float(fit.params[2])
    lo_x, hi_x = math.log1p(ks[0]), math.log1p(ks[-1])
    if not (fit.conf_int(0.05)[2][1] < 0 and lo_x < -b / (2 * c) < hi_x):
        return {"k": None, "note": f"no turn-down within {ks[0]}..{ks[-1]} tasks"}
    vertices, resampler = 0, Resampler(frame)
    for _ in range(BOOTSTRAP):
        rows = resampler.draw(rng)
        b1, c2 = slope(matrix[rows], y[rows], 1), slope(matrix[rows], y[rows], 2)
        vertices += bool(b1 is not None and c2 is not None and c2 < 0
                         and lo_x < -b1 / (2 * c2) < hi_x)
    if vertices < 0.8 * BOOTSTRAP:
        return {"k": None, "note": f"the turn stays inside {ks[0]}..{ks[-1]} tasks in only "
                                   f"{100 * vertices / BOOTSTRAP:.0f}% of resamples"}
    # the vertex -b / 2c by the delta method on the cluster-robust covariance of (b, c)
    vertex = -b / (2 * c)
    grad = np.array([-1 / (2 * c), b / (2 * c * c)])
    se = math.sqrt(float(grad @ fit.cov_params()[1:3, 1:3] @ grad))
    from scipy import stats

    half = float(stats.t.ppf(0.975, frame["unit"].nunique() - 1)) * se
    return {"k": float(math.expm1(vertex)), "low": float(math.expm1(vertex - half)),
            "high": float(math.expm1(vertex + half)), "note": None}
