"""How much a fidelity ladder's screening changed the answer, read from its audit.

Input: one row per (set, rung) the ladder ran, with columns `set`, `rung`, `objective`
(the dev objective the rung promoted on), `test` (the reported metric, higher is
better) and `audited` (the set reached this rung by the seeded audit, not by promotion).
Every set has a row at the first rung. Per pair of adjacent rungs: Spearman and Kendall
between the rungs' objectives over the sets measured at both, with 95% bootstrap
intervals over sets; and the probability that the best set at the upper rung was among
those the lower rung passed over, estimated from the audited ones (a random sample of
them). For the ladder: Regret@1 and @3 of its choice (the best by the full rung's
objective among the promoted sets) against the best set measured at full fidelity,
the cost saved against the full grid, and whether the audit trusts the screening (the
lower end of every rank-correlation interval at or above TRUSTED).

Conventions of sweeper.report.stats: nothing is estimated from fewer than MIN_UNITS
sets, and a zero-width interval is never given. Regret is measured among the sets that
ran at full fidelity: the sets never measured there could only add to it, which is
what the screened-out probability speaks to. Pure: numpy, scipy, pandas.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from sweeper.report.stats import BOOTSTRAP, MIN_UNITS
from sweeper.space.fidelity_cost import RungCost, Work

TRUSTED = 0.5  # the screening is trusted where every Spearman interval starts above this
COLUMNS = ("set", "rung", "objective", "test", "audited")


@dataclass
class Agreement:
    """How one rung ranked the sets against the rung above it."""

    low: str
    high: str
    sets: int  # measured at both rungs
    audited: int  # of which sent up by the audit
    passed_over: int  # sets the lower rung did not promote
    spearman: float | None = None
    spearman_interval: tuple[float, float] | None = None
    kendall: float | None = None
    kendall_interval: tuple[float, float] | None = None
    screened_out: float | None = None  # P(the upper rung's best was passed over)
    note: str | None = None


@dataclass
class LadderAudit:
    """The report's section on the ladder."""

    pairs: list[Agreement]
    regret_at_1: float | None
    regret_at_3: float | None
    screened_out: float | None = None  # at any rung: 1 - prod(1 - each pair's)
    cost: dict[str, float] = field(default_factory=dict)  # share of the full grid's
    trusted: bool | None = None
    verdict: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _signs(v: np.ndarray) -> np.ndarray:
    return np.sign(v[:, None] - v[None, :])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b)) / norm if norm > 0 else math.nan


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Spearman, Kendall's tau-b) of paired values, ties averaged; NaN for a constant."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    return _cosine(rx - rx.mean(), ry - ry.mean()), _cosine(_signs(x), _signs(y))


def _interval(draws: list[float]) -> tuple[float, float] | None:
    """95% percentile interval of the finite draws; None from too few or with no width."""
    finite = [d for d in draws if math.isfinite(d)]
    if len(finite) < BOOTSTRAP // 2:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return (float(low), float(high)) if high - low > 1e-12 else None


def rank_agreement(x: np.ndarray, y: np.ndarray, rng: np.random.Generator
                   ) -> dict[str, Any]:
    """Spearman and Kendall of paired values with bootstrap intervals over the pairs."""
    if len(x) < MIN_UNITS:
        return {"note": f"{len(x)} set(s) at both rungs: a rank agreement needs {MIN_UNITS}"}
    spearman, kendall = _correlations(x, y)
    if not (math.isfinite(spearman) and math.isfinite(kendall)):
        return {"note": "one rung gives every set the same objective: no ranking to compare"}
    draws = [_correlations(x[i], y[i]) for i in
             (rng.integers(0, len(x), size=len(x)) for _ in range(BOOTSTRAP))]
    return {"spearman": spearman, "kendall": kendall,
            "spearman_interval": _interval([d[0] for d in draws]),
            "kendall_interval": _interval([d[1] for d in draws])}


def screened_out(best_promoted: float, audited: np.ndarray, passed_over: int,
                 rng: np.random.Generator, sign: float = 1.0) -> float | None:
    """P(the best of the `passed_over` sets beats `best_promoted`), the passed-over sets'
    values drawn from the audited sample (`sign` -1: lower is better). Exact when every
    passed-over set was audited; None from fewer than MIN_UNITS audited sets."""
    if passed_over == 0:
        return 0.0
    if len(audited) == passed_over:
        return float(np.max(sign * audited) > sign * best_promoted)
    if len(audited) < MIN_UNITS:
        return None
    draws = rng.choice(sign * audited, size=(BOOTSTRAP, passed_over), replace=True)
    return float(np.mean(draws.max(axis=1) > sign * best_promoted))


def _pair(frame: pd.DataFrame, low: str, high: str, sign: float,
          rng: np.random.Generator) -> Agreement:
    lo = frame[frame["rung"] == low].set_index("set")
    hi = frame[frame["rung"] == high].set_index("set")
    both = hi.index.intersection(lo.index)
    audited = hi.loc[both, "audited"].astype(bool)
    promoted_sets, audited_sets = both[~audited.to_numpy()], both[audited.to_numpy()]
    out = Agreement(low, high, len(both), len(audited_sets),
                    len(lo.index.difference(promoted_sets)))
    numbers = rank_agreement(lo.loc[both, "objective"].to_numpy(float),
                             hi.loc[both, "objective"].to_numpy(float), rng)
    for key, value in numbers.items():
        setattr(out, key, value)
    if len(promoted_sets):
        best = float((sign * hi.loc[promoted_sets, "objective"]).max() * sign)
        out.screened_out = screened_out(best, hi.loc[audited_sets, "objective"].to_numpy(float),
                                        out.passed_over, rng, sign)
    if out.screened_out is None and out.note is None:
        out.note = f"{len(audited_sets)} audited set(s): no screened-out estimate"
    return out


def regret(full: pd.DataFrame, k: int, sign: float = 1.0) -> float | None:
    """Best test among the sets measured at full fidelity less the best test among the
    ladder's top k (by the full rung's objective, promoted sets only); None without
    promoted sets."""
    chosen = full[~full["audited"].astype(bool)]
    if chosen.empty:
        return None
    top = chosen.sort_values("objective", key=lambda v: -sign * v, kind="stable").head(k)
    return float(full["test"].max() - top["test"].max())


def cost_saved(rungs: Sequence[RungCost], full: Work) -> dict[str, float]:
    """The ladder's trials, trainings, examples and compute as shares of the full grid's."""
    out = {}
    for name in ("trials", "trainings", "examples", "compute"):
        whole = getattr(full, name)
        if whole:
            out[name] = sum(getattr(r.work, name) for r in rungs) / whole
    return out


def audit_ladder(frame: pd.DataFrame, rungs: Sequence[str], *, mode: str = "max",
                 cost: tuple[Sequence[RungCost], Work] | None = None,
                 rng: np.random.Generator | None = None) -> LadderAudit:
    """The ladder's section: agreement per adjacent rung pair, Regret@1/@3, cost, verdict.
    `rungs` from cheap to full; `mode` the objective's."""
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"fidelity table lacks column(s) {missing}")
    if frame.duplicated(["set", "rung"]).any():
        raise ValueError("fidelity table: one row per set and rung (a set's seeds averaged)")
    rng = rng or np.random.default_rng(0)
    sign = 1.0 if mode == "max" else -1.0
    pairs = [_pair(frame, lo, hi, sign, rng) for lo, hi in zip(rungs, rungs[1:])]
    full = frame[frame["rung"] == rungs[-1]]
    kept = [1.0 - p.screened_out for p in pairs if p.screened_out is not None]
    report = LadderAudit(pairs, regret(full, 1, sign), regret(full, 3, sign),
                         1.0 - float(np.prod(kept)) if len(kept) == len(pairs) else None,
                         cost_saved(*cost) if cost else {})
    report.trusted, report.verdict = verdict(pairs)
    return report


def verdict(pairs: Sequence[Agreement]) -> tuple[bool | None, str]:
    """Whether the audit trusts the screening: every pair's Spearman interval starts at or
    above TRUSTED; not trusted where one starts below; no verdict without intervals."""
    lows = [(p, p.spearman_interval[0]) for p in pairs if p.spearman_interval]
    if len(lows) < len(pairs):
        return None, "no verdict: a rung pair has no rank-correlation interval"
    worst, low = min(lows, key=lambda pl: pl[1])
    if low >= TRUSTED:
        return True, (f"trusted: every rung pair's Spearman interval starts at or above "
                      f"{TRUSTED} (lowest {low:.2f}, {worst.low} -> {worst.high})")
    return False, (f"not trusted: {worst.low} -> {worst.high} ranks sets with Spearman "
                   f"{worst.spearman:.2f}, interval from {low:.2f}, below {TRUSTED}")
