"""Language distances from URIEL (Littell et al. 2017), offline, from the data files the
`lang2vec` wheel ships (CC BY-SA 4.0).

lang2vec 1.1.2, the release on PyPI, has no `distance()` (the precomputed matrices are a
separate download) and imports `pkg_resources`, gone from recent setuptools; so the
files are read here directly and the distances computed from them:

- syntactic: cosine distance of the kNN-imputed syntax features (`S_*` of
  feature_predictions.npz). A proxy: URIEL's own precomputed syntactic distances were
  built by another recipe and are not reproduced by it;
- genetic: cosine distance of the Glottolog family-membership indicators (coarse: any
  two languages of different top-level families are 1.0);
- geographic: great-circle distance / pi between the coordinates the 299 `GC_lat_lon`
  features (each the angle to a fixed point, over pi) place the language at, found by a
  grid fit; it reproduces URIEL's published geographic values to about 2e-4.

Codes are ISO 639-3, as `languages.yaml` gives them (`iso639_3`).
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path

import numpy as np

KINDS = ("syntactic", "genetic", "geographic")
SOURCE = "URIEL via lang2vec 1.1.2 data files (syntax kNN cosine, family cosine, geography)"


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, tuple[dict[str, int], np.ndarray]]:
    # found through the installed distribution, not imported: its package imports
    # pkg_resources, and its console script `lang2vec.py` shadows it on sys.path
    base = Path(str(metadata.distribution("lang2vec").locate_file("lang2vec/data")))
    out = {}
    for name, file, prefix in (("syntactic", "feature_predictions.npz", "S_"),
                               ("genetic", "family_features.npz", ""),
                               ("geographic", "geocoord_features.npz", "")):
        z = np.load(str(base / file), allow_pickle=True)
        keep = np.array([str(f).startswith(prefix) for f in z["feats"]])
        data = z["data"][:, keep, 0].astype(np.float64)
        index = {str(code): i for i, code in enumerate(z["langs"])}
        out[name] = (index, data)
        if name == "geographic":
            out["points"] = ({}, _points([str(f) for f in z["feats"][keep]]))
    return out


def _points(names: list[str]) -> np.ndarray:
    """(lat, lon) in radians of each `GC_<lat>_<lon>` feature."""
    return np.radians(np.array([[float(x) for x in n.split("_")[1:3]] for n in names]))


def _angles(lat: np.ndarray, lon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Great-circle angle / pi from each (lat, lon) to each point: shape (n, points)."""
    plat, plon = points[:, 0], points[:, 1]
    cos = (np.sin(lat)[:, None] * np.sin(plat)[None] +
           np.cos(lat)[:, None] * np.cos(plat)[None] * np.cos(lon[:, None] - plon[None]))
    return np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi


@functools.lru_cache(maxsize=512)
def coordinates(code: str) -> tuple[float, float] | None:
    """(lat, lon) in radians that best explain the language's geography features."""
    index, data = _tables()["geographic"]
    if code not in index:
        return None
    seen = data[index[code]]
    if (seen < 0).all():
        return None
    points = _tables()["points"][1]
    best = (0.0, 0.0)
    for step, span in ((4.0, None), (0.25, 4.0)):
        if span is None:
            lats, lons = np.arange(-90, 90.1, step), np.arange(-180, 180, step)
        else:
            lats = np.arange(best[0] - span, best[0] + span + 1e-9, step)
            lons = np.arange(best[1] - span, best[1] + span + 1e-9, step)
        grid = np.array([(a, o) for a in lats for o in lons])
        err = ((_angles(np.radians(grid[:, 0]), np.radians(grid[:, 1]), points) - seen) ** 2
               ).sum(axis=1)
        best = tuple(grid[int(err.argmin())])
    return float(np.radians(best[0])), float(np.radians(best[1]))


def known(code: str) -> bool:
    return all(code in _tables()[k][0] for k in KINDS) and coordinates(code) is not None


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    mask = (a >= 0) & (b >= 0)  # -1: a missing value
    a, b = a[mask], b[mask]
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / norm if norm else 1.0


@functools.lru_cache(maxsize=4096)
def distances(a: str, b: str) -> dict[str, float]:
    """URIEL distances in [0, 1] between two ISO 639-3 codes (KeyError: unknown code)."""
    for code in (a, b):
        if not known(code):
            raise KeyError(code)
    out = {}
    for kind in ("syntactic", "genetic"):
        index, data = _tables()[kind]
        out[kind] = _cosine(data[index[a]], data[index[b]])
    (lat_a, lon_a), (lat_b, lon_b) = coordinates(a), coordinates(b)
    out["geographic"] = float(_angles(np.array([lat_a]), np.array([lon_a]),
                                      np.array([[lat_b, lon_b]]))[0, 0])
    return out
