"""The answer to the research question, computed from a sweep's runs.

Per target, language tier and language: each trial's gain over its baseline (the run
without intermediate tasks that has the same baseline key: same model, target-phase and
evaluation settings, seed and data; see sweeper.trial.keys), on TEST numbers; scaling
curves of mean gain vs number of tasks (k >= 1) for English / non-English / mixed sets
with hierarchical bootstrap intervals (sweeper.report.stats); a trend per curve; which
tasks helped, comparing sets of equal size. A task that breaks zero-shot for a target
moves only that target's results into their own section. Trials stopped by a scheduler
or failed never enter the numbers. Pure: plain dicts in, dataclasses out; no mlflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sweeper.catalog import Catalog
from sweeper.report.stats import Point, Trend, fit_trend, point
from sweeper.scoring.xtreme import main_metric
from sweeper.sweep.schema import MIXES
from sweeper.sweep.tracking import BASELINE_KEY_TAG, ROLE_TAG
from sweeper.trial.params import mix_of

TIERS = ("all", "low", "mid", "high")

__all__ = ["MIXES", "TIERS", "Point", "Report", "Trend", "Trial", "build"]


@dataclass
class Trial:
    """One finished run (a trial, or a baseline run), reduced to what the report needs."""

    run_id: str
    name: str
    tasks: list[str]
    mix: str  # from the task set's composition: english / non_english / mixed / none
    seed: str
    protocols: dict[str, str]  # target -> zero_shot / translate_train / in_language
    key: str  # baseline key (see sweeper.trial.keys)
    scores: dict[str, dict[str, float]]  # target -> lang -> main metric (test)
    settings: str = ""  # seed, lr and model, to name a trial that has no baseline
    budget: str = ""
    role: str = "trial"  # or "baseline": a run the sweep made to measure gains against
    gains: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline: str | None = None

    @property
    def count(self) -> int:
        return len(self.tasks)


@dataclass
class Report:
    trials: list[Trial]  # finished trials with intermediate tasks
    curves: dict[str, dict[str, dict[str, list[Point]]]]  # target -> tier -> mix -> points
    trends: dict[str, dict[str, dict[str, Trend]]]  # target -> tier -> mix|"pooled" -> trend
    helped: dict[str, list[dict[str, Any]]]  # target -> task effects at equal set size
    helped_title: dict[str, str]  # target -> "helped most" / "least harmful"
    missing_baselines: list[str]
    apart: list[tuple[Trial, str]]  # (trial, target) whose protocol is not zero-shot
    budgets: list[str]  # the intermediate compute the curves were measured at
    notes: list[str]


def _budget(params: dict[str, str]) -> str:
    steps, cap = params.get("intermediate_steps"), params.get("examples_cap")
    if steps not in (None, "", "None", "(none)"):
        text = f"{steps} intermediate steps in all"
    else:
        text = (f"{params.get('intermediate_epochs', '?')} epochs over the summed sets "
                "(compute grows with the task count)")
    if cap not in (None, "", "None", "(none)"):
        text += f", at most {cap} examples per task"
    return text


def trial_from_row(row: dict[str, Any], catalog: Catalog, split: str = "test") -> Trial | None:
    """A Trial from a run row (tracking.RunRecord.row), scored on `split` (the report's
    numbers are TEST numbers); None for runs without scores."""
    params, metrics, tags = row["params"], row["metrics"], row["tags"]
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
    whole = tags.get("protocol", "zero_shot")  # runs that predate per-target tags
    protocols = {t: tags.get(f"protocol.{t}", whole if whole != "not_zero_shot" else "")
                 or "not_zero_shot" for t in scores}
    settings = ", ".join(f"{k}={params[k]}" for k in ("seed", "lr", "model") if k in params)
    return Trial(row["run_id"], row["name"] or row["run_id"], tasks, mix_of(tasks, catalog),
                 params.get("seed", ""), protocols, tags.get(BASELINE_KEY_TAG, ""), scores,
                 settings, _budget(params), tags.get(ROLE_TAG, "trial"))


def finished(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Rows of runs that finished; how many were left out (stopped early or failed)."""
    keep = [r for r in rows if r.get("status", "FINISHED") == "FINISHED"
            and r["tags"].get("stopped_early") != "true"]
    return keep, len(rows) - len(keep)


def attach_baselines(trials: list[Trial], references: list[Trial]) -> list[str]:
    """Fill each trial's gains from the reference runs with its baseline key; names the
    trials that have none."""
    by_key: dict[str, list[Trial]] = {}
    for ref in references:
        if ref.key:
            by_key.setdefault(ref.key, []).append(ref)
    missing = []
    for t in trials:
        base = by_key.get(t.key) if t.key else None
        if not base:
            missing.append(f"{t.name}: no baseline (0 tasks) with the same baseline key "
                           f"{t.key or '(none logged)'} ({t.settings})")
            continue
        base = sorted(base, key=lambda b: b.role != "baseline")  # the sweep's own first
        t.baseline = base[0].run_id
        for target, langs in t.scores.items():
            for lang, score in langs.items():
                ref = base[0].scores.get(target, {}).get(lang)
                if ref is not None:
                    t.gains.setdefault(target, {})[lang] = score - ref
    return missing


def tier_gain(trial: Trial, target: str, tier: str, catalog: Catalog) -> float | None:
    gains = [g for lang, g in trial.gains.get(target, {}).items()
             if tier == "all" or catalog.tier(lang) == tier]
    return sum(gains) / len(gains) if gains else None


def task_effects(trials: list[Trial], target: str, catalog: Catalog
                 ) -> tuple[list[dict[str, Any]], str]:
    """Per task: mean gain of sets WITH it minus sets WITHOUT it, compared only between
    sets of the same size and averaged over sizes (weighted by the sets with it)."""
    rows = [(set(t.tasks), t.count, tier_gain(t, target, "all", catalog)) for t in trials]
    rows = [(s, k, g) for s, k, g in rows if g is not None]
    out = []
    for task in sorted({x for s, _, _ in rows for x in s}):
        diffs, n_with, n_without = [], 0, 0
        for k in sorted({k for _, k, _ in rows}):
            inside = [g for s, kk, g in rows if kk == k and task in s]
            outside = [g for s, kk, g in rows if kk == k and task not in s]
            if inside and outside:
                diffs.append((len(inside), np.mean(inside) - np.mean(outside)))
                n_with, n_without = n_with + len(inside), n_without + len(outside)
        mean_with = float(np.mean([g for s, _, g in rows if task in s]))
        effect = (sum(w * d for w, d in diffs) / sum(w for w, _ in diffs)) if diffs else None
        out.append({"task": task, "n_with": n_with, "n_without": n_without,
                    "mean_with": mean_with, "effect": effect})
    out.sort(key=lambda r: -(r["effect"] if r["effect"] is not None else -1e9))
    negative = bool(rows) and all(g < 0 for _, _, g in rows)
    return out, "least harmful" if negative else "helped most"


def build(rows: list[dict[str, Any]], catalog: Catalog, seed: int = 0) -> Report:
    """Everything the report shows, from the sweep's child-run rows."""
    rng = np.random.default_rng(seed)
    rows, left_out = finished(rows)
    runs = [t for t in (trial_from_row(r, catalog) for r in rows) if t is not None]
    references = [t for t in runs if t.role == "baseline" or t.count == 0]
    trials = [t for t in runs if t.role != "baseline" and t.count > 0]
    missing = attach_baselines(trials, references)
    curves: dict = {}
    trends: dict = {}
    helped: dict = {}
    titles: dict = {}
    for target in sorted({target for t in trials for target in t.scores}):
        zero = [t for t in trials if t.protocols.get(target) == "zero_shot"]
        for tier in TIERS:
            gains = [(t, tier_gain(t, target, tier, catalog)) for t in zero]
            gains = [(t, g) for t, g in gains if g is not None]
            pooled: dict[str, list[tuple[int, float]]] = {}
            for t, g in gains:
                pooled.setdefault(t.seed, []).append((t.count, g))
            for mix in MIXES:
                by_k: dict[int, dict[str, list[float]]] = {}
                for t, g in gains:
                    if t.mix == mix:
                        by_k.setdefault(t.count, {}).setdefault(t.seed, []).append(g)
                if by_k:
                    curves.setdefault(target, {}).setdefault(tier, {})[mix] = [
                        point(k, by_k[k], rng) for k in sorted(by_k)]
                    trends.setdefault(target, {}).setdefault(tier, {})[mix] = fit_trend(
                        {s: [(k, g) for k in by_k for g in by_k[k].get(s, [])]
                         for s in {s for k in by_k for s in by_k[k]}}, rng)
            if pooled:
                trends.setdefault(target, {}).setdefault(tier, {})["pooled"] = fit_trend(
                    pooled, rng)
        helped[target], titles[target] = task_effects(zero, target, catalog)
    apart = [(t, target) for t in trials for target, p in t.protocols.items()
             if p != "zero_shot" and target in t.gains]
    notes = _notes(curves, trials, left_out)
    budgets = sorted({t.budget for t in trials})
    return Report(trials, curves, trends, helped, titles, missing, apart, budgets, notes)


def _notes(curves: dict, trials: list[Trial], left_out: int) -> list[str]:
    notes = []
    thin = sorted({p.n for c in curves.values() for m in c.values() for pts in m.values()
                   for p in pts if p.low is None})
    if thin:
        notes.append(f"Points resting on {', '.join(map(str, thin))} trial(s) have no interval "
                     "(an interval needs 3 or more; add seeds or `draws`).")
    if len({t.seed for t in trials}) == 1 and trials:
        notes.append("One seed: intervals cover the choice of tasks, not the noise of the "
                     "seed (every gain shares one baseline run).")
    if left_out:
        notes.append(f"{left_out} run(s) stopped by the scheduler or failed are left out.")
    return notes
