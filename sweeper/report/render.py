"""`sweeper report`: read a sweep from MLflow, compute the report, write and log it.

Outputs in DIR: report.md (tables and figures), scaling_<target>.png (gain vs number of
tasks per tier, one line per language mix, 95% intervals), heatmap_<target>.png
(language x task count), results.csv (per trial and language); all logged to the
sweep's parent run under report/.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from sweeper.catalog import Catalog, load_catalog
from sweeper.errors import SweeperError
from sweeper.paths import check_writable_dir
from sweeper.report.compute import MIXES, TIERS, Point, Report, Trend, build
from sweeper.sweep import tracking
from sweeper.sweep.storage import SweepFolder

COLORS = {"english": "tab:blue", "non_english": "tab:orange", "mixed": "tab:green"}


def _ci(p: Point) -> str:
    return f"[{p.low:+.2f}, {p.high:+.2f}]" if p.low is not None else f"({p.why_no_interval})"


def _trend(t: Trend) -> str:
    if t.slope is None:
        return t.peak
    ci = f" [{t.low:+.2f}, {t.high:+.2f}]" if t.low is not None else ""
    return f"slope {t.slope:+.2f}{ci} per log(1+k); {t.peak}"


def write_csv(report: Report, path: Path, catalog: Catalog) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run_id", "trial", "protocol", "target", "language", "tier", "tasks", "count",
                    "mix", "seed", "score", "gain", "baseline_run_id"])
        for t in report.trials:
            for target, langs in t.scores.items():
                for lang, score in langs.items():
                    gain = t.gains.get(target, {}).get(lang)
                    w.writerow([t.run_id, t.name, t.protocols.get(target, ""), target, lang,
                                catalog.tier(lang),
                                ",".join(t.tasks), t.count, t.mix, t.seed, f"{score:.4f}",
                                "" if gain is None else f"{gain:.4f}", t.baseline or ""])


def plot(report: Report, out: Path, catalog: Catalog) -> list[Path]:
    """Scaling curves per tier and a language x task-count heat map, per target."""
    import matplotlib

    matplotlib.use("Agg")
    paths = []
    for target, tiers in report.curves.items():
        paths.append(_scaling(target, tiers, out))
        heatmap = _heatmap(report, target, out, catalog)
        if heatmap:
            paths.append(heatmap)
    return paths


def _scaling(target: str, tiers: dict, out: Path) -> Path:
    import matplotlib.pyplot as plt

    shown = [t for t in TIERS if t in tiers]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), squeeze=False)
    for ax, tier in zip(axes[0], shown):
        for mix in MIXES:
            pts = tiers[tier].get(mix)
            if not pts:
                continue
            x = [math.log1p(p.count) for p in pts]
            y = [p.mean for p in pts]
            err = [[p.mean - p.low if p.low is not None else 0 for p in pts],
                   [p.high - p.mean if p.high is not None else 0 for p in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, color=COLORS[mix], label=mix)
        ax.axhline(0, color="grey", lw=0.8)
        counts = sorted({p.count for m in tiers[tier].values() for p in m})
        ax.set_xticks([math.log1p(k) for k in counts], [str(k) for k in counts])
        ax.set_title(f"{target}: {tier} languages")
        ax.set_xlabel("intermediate tasks")
        ax.set_ylabel("zero-shot gain over baseline")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path = out / f"scaling_{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(report: Report, target: str, out: Path, catalog: Catalog) -> Path | None:
    import matplotlib.pyplot as plt
    import numpy as np

    trials = [t for t in report.trials
              if t.protocols.get(target) == "zero_shot" and target in t.gains]
    langs = sorted({lang for t in trials for lang in t.gains[target]},
                   key=lambda c: (["low", "mid", "high"].index(catalog.tier(c)), c))
    counts = sorted({t.count for t in trials})
    if not langs or not counts:
        return None
    grid = np.full((len(langs), len(counts)), np.nan)
    for i, lang in enumerate(langs):
        for j, k in enumerate(counts):
            vals = [t.gains[target][lang] for t in trials
                    if t.count == k and lang in t.gains[target]]
            if vals:
                grid[i, j] = sum(vals) / len(vals)
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(counts), 1.2 + 0.28 * len(langs)))
    lim = max(1e-9, float(np.nanmax(np.abs(grid))))
    im = ax.imshow(grid, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(counts)), [str(k) for k in counts])
    ax.set_yticks(range(len(langs)), [f"{c} ({catalog.tier(c)})" for c in langs], fontsize=7)
    ax.set_xlabel("intermediate tasks")
    ax.set_title(f"{target}: gain by language")
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    path = out / f"heatmap_{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(report: Report, meta: dict[str, Any], figures: list[Path]) -> str:
    lines = [f"# Sweep report: {meta['sweep']}", ""]
    if meta.get("synthetic"):
        lines += ["> **SYNTHETIC sample data**: these numbers exercise the tool; they say "
                  "nothing about real languages.", ""]
    lines += [f"{len(report.trials)} trials with intermediate tasks ({len(report.apart)} "
              "target results not zero-shot, reported apart). Gain = trial TEST score minus "
              "its baseline's (the run without intermediate tasks with the same baseline "
              "key: model, target-phase and evaluation settings, seed, data), in points of "
              "the XTREME metric. k = 0 is that reference, not a point of the curves.", ""]
    lines += ["Intermediate compute: " + "; ".join(report.budgets), ""] if report.budgets \
        else []
    for target, tiers in report.curves.items():
        lines += [f"## {target}", "", f"Budget: {'; '.join(report.budgets)}", "",
                  "| tier | mix | tasks | trials | seeds | mean gain | 95% CI |",
                  "|---|---|---|---|---|---|---|"]
        for tier in TIERS:
            for mix, pts in tiers.get(tier, {}).items():
                for p in pts:
                    lines.append(f"| {tier} | {mix} | {p.count} | {p.n} | {p.seeds} | "
                                 f"{p.mean:+.2f} | {_ci(p)} |")
        lines += ["", "Trend (gain ~ a + b log(1+k)):", ""]
        for tier in TIERS:
            for mix, trend in report.trends.get(target, {}).get(tier, {}).items():
                lines.append(f"- {tier}, {mix}: {_trend(trend)} (n={trend.n})")
        helped = [h for h in report.helped.get(target, []) if h["effect"] is not None]
        if helped:
            lines += ["", f"Tasks that {report.helped_title[target]} (mean gain of sets with the "
                      "task minus sets of the same size without it):", "",
                      "| task | with | without | effect |", "|---|---|---|---|"]
            lines += [f"| {h['task']} | {h['n_with']} | {h['n_without']} | {h['effect']:+.2f} |"
                      for h in helped[:10]]
        lines += [""] + [f"![{f.stem}]({f.name})" for f in figures if f.stem.endswith(target)]
        lines.append("")
    if report.apart:
        lines += ["## Not zero-shot (translate-train / in-language), kept apart", "",
                  "Only the target a task breaks zero-shot for is here; the trial's other "
                  "targets are in the curves above.", "",
                  "| trial | protocol | target | mean gain |", "|---|---|---|---|"]
        for t, target in report.apart:
            gains = t.gains[target]
            mean = sum(gains.values()) / len(gains) if gains else float("nan")
            lines.append(f"| {t.name} | {t.protocols[target]} | {target} | {mean:+.2f} |")
        lines.append("")
    if report.missing_baselines or report.notes:
        lines += ["## Caveats", ""] + [f"- {m}" for m in report.missing_baselines + report.notes]
    return "\n".join(lines) + "\n"


def print_terminal(report: Report, meta: dict[str, Any]) -> None:
    tag = "  [SYNTHETIC sample data]" if meta.get("synthetic") else ""
    print(f"Sweep {meta['sweep']}: {len(report.trials)} trials{tag}")
    for target, tiers in report.curves.items():
        print(f"\n{target}: mean zero-shot gain over baseline by number of tasks")
        for tier in ("low", "all"):
            for mix, pts in tiers.get(tier, {}).items():
                cells = "  ".join(f"{p.count}:{p.mean:+.1f}" for p in pts)
                print(f"  {tier:<4} {mix:<12} {cells}")
            pooled = report.trends.get(target, {}).get(tier, {}).get("pooled")
            if pooled:
                print(f"  {tier:<4} trend        {_trend(pooled)}")
        top = [h for h in report.helped.get(target, []) if h["effect"] is not None][:3]
        if top:
            print(f"  {report.helped_title[target]} (equal set sizes): "
                  + ", ".join(f"{h['task']} ({h['effect']:+.1f})" for h in top))
    for line in report.missing_baselines + report.notes:
        print(f"  note: {line}")


def run_report(name_or_run: str, tracking_uri: str | None = None, out: str | None = None,
               storage: str = "runs") -> dict[str, Any]:
    """Read the sweep, write report.md, figures and CSV, log them to the parent run."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    folder = SweepFolder(storage, name_or_run)
    if uri is None and folder.exists("sweeper.json"):
        uri = json.loads(folder.read_text("sweeper.json"))["tracking_uri"]
    uri = tracking.store_uri(uri, storage)
    tracker, parent = tracking.open_sweep(tracking.open_store(uri), name_or_run)
    catalog = load_catalog()
    rows = [r.row() for r in tracker.children(parent)]
    report = build(rows, catalog)
    parent_tags = tracker.run(parent).tags
    meta = {"sweep": tracker.experiment,
            "synthetic": parent_tags.get("synthetic") == "true"}
    subdir = parent_tags.get(tracking.FOLDER_TAG, meta["sweep"])
    if out is None and "://" in storage:
        raise SweeperError(f"--storage {storage} is remote: give --out (a local folder)")
    out_dir = check_writable_dir(out or Path(storage) / subdir / "report", "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = plot(report, out_dir, catalog)
    (out_dir / "report.md").write_text(markdown(report, meta, figures))
    write_csv(report, out_dir / "results.csv", catalog)
    tracker.log_artifacts(parent, out_dir, "report")
    print_terminal(report, meta)
    print(f"\nwrote {out_dir / 'report.md'}, {len(figures)} figures and results.csv; "
          f"logged to run {parent} under report/")
    return {"out": str(out_dir), "parent": parent, "report": report}
