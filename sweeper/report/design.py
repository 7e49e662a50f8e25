"""The count regression's design matrix: a constant, log(1 + k) (and its square, for a
turn), the log covariates that vary (one that is the same for every trial is held fixed
by the design, one that moves with those already in is redundant, and either says so),
and fixed-effect dummies; and how well log(1 + k) is told apart from the rest. Pure numpy
and pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FIXED_SPREAD = math.log(1.05)  # a covariate within 5% everywhere is held fixed (batch rounding)


def _dummies(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    parts = [pd.get_dummies(frame[c].astype(str), prefix=c, drop_first=True, dtype=float)
             for c in columns if frame[c].nunique() > 1]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def _r2(target: np.ndarray, rest: np.ndarray) -> float:
    """R² of `target` regressed on the columns of `rest` (1.0: a constant target)."""
    fitted = rest @ np.linalg.lstsq(rest, target, rcond=None)[0]
    total = float(np.sum((target - target.mean()) ** 2))
    return 1.0 - float(np.sum((target - fitted) ** 2)) / total if total > 0 else 1.0


def _covariates(frame: pd.DataFrame, wanted: list[str], base: np.ndarray
                ) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """The log covariates that vary beyond `base` (the constant and fixed effects) and
    beyond each other; what was held fixed by the design, redundant with a covariate
    already in (examples seen = passes x distinct examples), or unavailable."""
    cols: dict[str, np.ndarray] = {}
    info: dict[str, list[str]] = {"held_fixed": [], "redundant": [], "missing": []}
    for c in wanted:
        values = pd.to_numeric(frame[c], errors="coerce") if c in frame else None
        if values is None or values.isna().any() or (values <= 0).any():
            info["missing"].append(c)
            continue
        logged = np.log(values.to_numpy(float))
        if np.ptp(logged) < FIXED_SPREAD or _r2(logged, base) > 1 - 1e-9:
            info["held_fixed"].append(c)
        elif cols and _r2(logged, np.column_stack([base] + list(cols.values()))) > 1 - 1e-6:
            info["redundant"].append(c)
        else:
            cols[c] = logged
    return cols, info


def design(frame: pd.DataFrame, covariates: list[str], effects: list[str],
           quadratic: bool = False) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """The regression's matrix: constant, log(1 + k) [and its square], the covariates
    that vary, fixed-effect dummies; its column names; what was left out and why."""
    x = np.log1p(frame["k"].to_numpy(float))
    dummies = _dummies(frame, effects).to_numpy()
    base = np.column_stack([np.ones(len(frame)), dummies])
    cov, info = _covariates(frame, covariates, base)
    parts = [np.ones(len(frame)), x] + ([x ** 2] if quadratic else []) + list(cov.values())
    matrix = np.column_stack(parts + [dummies])
    head = ["const", "log1p_k"] + (["log1p_k_sq"] if quadratic else []) + list(cov)
    return matrix, head, info


def separable(matrix: np.ndarray, n_cov: int) -> float:
    """R² of log(1 + k) on everything else in the design (1.0: not separable)."""
    if n_cov == 0:
        return 0.0
    return _r2(matrix[:, 1], np.delete(matrix, 1, axis=1))

