"""The hierarchical bootstrap that checks the count regression: seeds drawn with
replacement, then units within each drawn seed, a slope refitted on every resample
(where the resample still pins it down), and its percentile interval. Pure numpy and
pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

BOOTSTRAP = 1000


def slope(matrix: np.ndarray, y: np.ndarray, column: int) -> float | None:
    """The least-squares coefficient of `column`, or None where the design cannot pin it
    down. A resample may leave out a whole fixed-effect group (its dummy all zeros, or the
    dummies then spanning the constant): the coefficient is still unique when its unit
    vector lies in the row space of the design, and the minimum-norm solution gives it."""
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int(np.sum(singular > singular[0] * 1e-10))
    row_space = vt[:rank]
    if abs(float(row_space[:, column] @ row_space[:, column]) - 1.0) > 1e-8:
        return None
    return float(np.linalg.lstsq(matrix, y, rcond=None)[0][column])


class Resampler:
    """Hierarchical resamples of a frame's rows: seeds with replacement, then units within
    each drawn seed with replacement (every row of a drawn unit). Built once per frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        seeds = pd.factorize(frame["seed"])[0]
        units = pd.factorize(frame["unit"])[0]
        self.by_seed = []
        for s in range(seeds.max() + 1 if len(seeds) else 0):
            mine = np.flatnonzero(seeds == s)
            self.by_seed.append([mine[units[mine] == u] for u in np.unique(units[mine])])

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The row indices of one resample."""
        picked = []
        for s in rng.integers(0, len(self.by_seed), size=len(self.by_seed)):
            units = self.by_seed[s]
            picked.extend(units[u] for u in rng.integers(0, len(units), size=len(units)))
        return np.concatenate(picked)


def slope_interval(frame: pd.DataFrame, matrix: np.ndarray, column: int,
                   rng: np.random.Generator) -> dict[str, float] | None:
    """The 95% percentile interval of `column`'s coefficient over hierarchical resamples
    of `frame` (None: half the resamples or more cannot pin it down, or no width)."""
    y = frame["y"].to_numpy(float)
    resampler = Resampler(frame)
    draws = []
    for _ in range(BOOTSTRAP):
        rows = resampler.draw(rng)
        found = slope(matrix[rows], y[rows], column)
        if found is not None:
            draws.append(found)
    if len(draws) < BOOTSTRAP // 2:
        return None
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"low": float(low), "high": float(high)} if high - low > 1e-12 else None
