"""The report's figures: scaling curves per tier (one line per composition, 95%
intervals where there are enough units), a language x task-count heat map of TEST gains,
and chain designs' task values. Matplotlib, headless."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COLORS = {"english": "tab:blue", "non_english": "tab:orange", "mixed": "tab:green",
          "chain": "tab:purple"}
TIER_ORDER = ("low", "mid", "high")


def plot(analysis: dict[str, Any], table: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    paths = []
    for target, found in analysis["targets"].items():
        if found["curves"]:
            paths.append(_scaling(target, found["curves"], out))
        heat = _heatmap(target, table, out)
        if heat:
            paths.append(heat)
        values = next(iter(found["chains"].values()), None)
        if values and values["values"]:
            paths.append(_values(target, values["values"], out))
    return paths


def _scaling(target: str, curves: dict[str, dict[str, list]], out: Path) -> Path:
    import matplotlib.pyplot as plt

    shown = [t for t in ("all",) + TIER_ORDER if t in curves]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), squeeze=False)
    for ax, tier in zip(axes[0], shown):
        counts: set[int] = set()
        for mix, points in curves[tier].items():
            pts = [p for p in points if p["mean"] is not None and p["k"] >= 1]
            if not pts:
                continue
            counts |= {p["k"] for p in pts}
            x = [math.log1p(p["k"]) for p in pts]
            y = [p["mean"] for p in pts]
            err = [[p["mean"] - p["low"] if p["low"] is not None else 0 for p in pts],
                   [p["high"] - p["mean"] if p["high"] is not None else 0 for p in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, color=COLORS.get(mix),
                        label=mix)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks([math.log1p(k) for k in sorted(counts)], [str(k) for k in sorted(counts)])
        ax.set_title(f"{target}: {tier} languages")
        ax.set_xlabel("intermediate tasks")
        ax.set_ylabel("zero-shot TEST gain over baseline")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path = out / f"scaling_{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(target: str, table: pd.DataFrame, out: Path) -> Path | None:
    import matplotlib.pyplot as plt

    rows = table[(table["target"] == target) & (table["split"] == "test")
                 & (table["status"] == "finished") & (table["protocol"] == "zero_shot")
                 & table["comparable"] & (table["k"] >= 1)]
    if rows.empty or rows["gain"].isna().all():
        return None
    grid = rows.pivot_table(index="language", columns="k", values="gain", aggfunc="mean")
    tiers = rows.groupby("language")["tier"].first()
    order = sorted(grid.index, key=lambda c: (TIER_ORDER.index(tiers[c])
                                              if tiers[c] in TIER_ORDER else 3, c))
    grid = grid.loc[order]
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * grid.shape[1], 1.2 + 0.28 * grid.shape[0]))
    lim = max(1e-9, float(np.nanmax(np.abs(grid.to_numpy()))))
    im = ax.imshow(grid.to_numpy(), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(int(k)) for k in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{c} ({tiers[c]})" for c in grid.index], fontsize=7)
    ax.set_xlabel("intermediate tasks")
    ax.set_title(f"{target}: TEST gain by language")
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    path = out / f"heatmap_{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _values(target: str, values: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 0.9 + 0.3 * len(values)))
    names = [v["task"] for v in values][::-1]
    means = [v["value"] for v in values][::-1]
    err = [[v["value"] - v["low"] if v["low"] is not None else 0 for v in values][::-1],
           [v["high"] - v["value"] if v["high"] is not None else 0 for v in values][::-1]]
    ax.errorbar(means, range(len(names)), xerr=err, fmt="o", capsize=3, color="tab:purple")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("mean marginal TEST gain (all languages)")
    ax.set_title(f"{target}: task values over chains")
    fig.tight_layout()
    path = out / f"task_values_{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
