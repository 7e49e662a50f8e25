"""The answer to the research question, computed from a results table
(sweeper.report.results): how the zero-shot TEST gain changes with the number of
intermediate tasks, per target, language tier and composition (English / non-English /
mixed), adjusted for the data the tasks bring.

Per target and tier, a trial's gain is the mean over the tier's languages; a (trial,
target, tier) with a language whose result is not zero-shot (translate-train,
in-language, parallel data seen) or not comparable with XTREME is reported apart, never
in the curves. Trials a scheduler stopped, that failed or that still run never enter a
number; they are counted where they belong. Independent task sets give curves per
composition and a count effect per composition (pooled only where the compositions
cover the same counts); chain designs give paired marginal gains, task values and the
profile of returns (sweeper.report.chains). A fidelity ladder's answer is its full
rung's; each rung's, side by side, and their agreement are its own section
(sweeper.report.rungs). Pure: a DataFrame in, plain dicts out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sweeper.report import chains, listings, rungs, sections
from sweeper.report.results import text_column
from sweeper.report.stats import (
    MIN_COUNTS,
    MIN_UNITS,
    count_effect,
    mean_interval,
    peak,
)

TIERS = ("all", "low", "mid", "high")
MIXES = ("english", "non_english", "mixed")
COVARIATES = ["distinct_examples", "examples_seen"]
TRIAL_COLUMNS = ["trial_id", "seed", "tasks", "k", "mix", "budget", "chain", "added",
                 "examples_seen", "distinct_examples", "status"]


def unit_of(row: pd.Series) -> str:
    """The resampling unit: a chain within a seed, or a distinct task set within a seed
    (the same set under other settings is the same unit)."""
    if row["chain"]:
        return f"{row['seed']:g}|chain {row['chain']}"
    return f"{row['seed']:g}|{','.join(sorted(t for t in row['tasks'].split(',') if t))}"


def tier_frame(rows: pd.DataFrame, tier: str) -> tuple[pd.DataFrame, int]:
    """One row per trial of one target and split: its mean gain over the tier's
    languages (y); how many trials were left out because a language of the tier is
    reported apart."""
    if tier != "all":
        rows = rows[rows["tier"] == tier]
    if rows.empty:
        return pd.DataFrame(columns=TRIAL_COLUMNS + ["y", "unit"]), 0
    apart = rows.groupby("trial_id")[["protocol", "comparable"]].apply(
        lambda g: bool(((g["protocol"] != "zero_shot") | ~g["comparable"]).any()))
    kept = rows[~rows["trial_id"].map(apart)]
    trials = kept.groupby("trial_id", sort=False).agg(
        **{c: (c, "first") for c in TRIAL_COLUMNS if c != "trial_id"},
        y=("gain", lambda g: g.mean() if g.notna().all() else np.nan)).reset_index()
    trials["unit"] = trials.apply(unit_of, axis=1) if len(trials) else []
    return trials, int(apart.sum())


def curve(trials: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Per task count: the mean gain over units with its interval, and how many trials
    entered it and how many were stopped, failed or still run."""
    points = []
    for k, group in trials.groupby("k"):
        done = group[(group["status"] == "finished") & group["y"].notna()]
        count = group["status"].value_counts()
        point = {"k": int(k), "trials": len(done), "units": done["unit"].nunique(),
                 "seeds": done["seed"].nunique(), "stopped": int(count.get("stopped", 0)),
                 "failed": int(count.get("failed", 0)), "running": int(count.get("running", 0)),
                 "mean": None, "low": None, "high": None}
        if len(done):
            point["mean"], point["low"], point["high"] = mean_interval(done, rng)
        points.append(point)
    return points


def _eligible(trials: pd.DataFrame) -> bool:
    done = trials[(trials["k"] >= 1) & trials["y"].notna()]
    return done["unit"].nunique() >= MIN_UNITS and done["k"].nunique() >= MIN_COUNTS


def _effects(trials: pd.DataFrame, effects: tuple[str, ...], rng: np.random.Generator
             ) -> dict[str, Any]:
    done = trials[trials["status"] == "finished"]
    return {"adjusted": count_effect(done, covariates=COVARIATES, effects=effects,
                                     rng=rng).as_dict(),
            "naive": count_effect(done, covariates=[], effects=effects, rng=rng).as_dict(),
            "peak": peak(done, covariates=COVARIATES, effects=effects, rng=rng)}


def pooled(by_mix: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, Any]:
    """One count effect over compositions (a fixed effect per composition), only where
    two or more of them each hold enough units and counts and share two or more counts."""
    ok = {m: t for m, t in by_mix.items() if _eligible(t[t["status"] == "finished"])}
    shared = set.intersection(*[set(t["k"][t["k"] >= 1]) for t in ok.values()]) if ok \
        else set()
    if len(ok) < 2 or len(shared) < 2:
        ranges = ", ".join(f"{m}: k {int(t['k'][t['k'] >= 1].min())}.."
                           f"{int(t['k'].max())}" for m, t in by_mix.items()
                           if (t["k"] >= 1).any())
        return {"note": "not pooled: the compositions do not cover the same task counts "
                        f"with enough units each ({ranges})"}
    both = pd.concat([t.assign(mix=m) for m, t in ok.items()])
    out = _effects(both, ("seed", "mix"), rng)
    out["mixes"] = sorted(ok)
    return out


def _dev_frame(rows: pd.DataFrame, selection: str) -> pd.DataFrame:
    """Per trial: its DEV gain under the selection protocol (English dev, or the mean of
    the target-language dev sets: the oracle)."""
    dev = rows[(rows["split"] == "dev") & (rows["role"] != "baseline")]
    dev = dev[(dev["language"] == "en") == (selection == "english_dev")]
    return tier_frame(dev, "all")[0]


def _chains(trials: pd.DataFrame, dev: pd.DataFrame, selection: str,
            rng: np.random.Generator) -> dict[str, Any]:
    """Chain designs: the paired count effect, task values (TEST, with the selection
    protocol's DEV values beside them: the ranking follows DEV), the returns profile."""
    done = trials[trials["status"] == "finished"]
    steps = chains.marginals(done)
    values = chains.task_values(steps, rng)
    dev_done = dev[(dev["status"] == "finished") & (dev["chain"] != "")]
    on_dev = {v["task"]: v for v in chains.task_values(chains.marginals(dev_done), rng)}
    for v in values:
        d = on_dev.get(v["task"], {})
        v.update({"dev": d.get("value"), "dev_low": d.get("low"), "dev_high": d.get("high")})
    ranked = bool(on_dev)
    values.sort(key=lambda v: (-(v["dev"] if v["dev"] is not None else -1e9)) if ranked
                else v["task"])
    return {"count_effect": _effects(trials, ("unit",), rng), "values": values,
            "ranked_on": selection if ranked else None, "profile": chains.profile(steps, rng),
            "chains": int(done["unit"].nunique()), "note": chains.describe(steps)}


def target_analysis(rows: pd.DataFrame, selection: str, rng: np.random.Generator
                    ) -> dict[str, Any]:
    """Everything about one target: curves, effects and chains per tier (TEST gains)."""
    test = rows[(rows["split"] == "test") & (rows["role"] != "baseline")]
    dev = _dev_frame(rows, selection)
    out: dict[str, Any] = {"curves": {}, "effects": {}, "pooled": {}, "chains": {},
                           "left_apart": {}}
    for tier in TIERS:
        trials, apart = tier_frame(test, tier)
        if trials.empty:
            continue
        out["left_apart"][tier] = apart
        independent = trials[trials["chain"] == ""]
        by_mix = {m: independent[independent["mix"] == m] for m in MIXES
                  if (independent["mix"] == m).any()}
        out["curves"][tier] = {m: curve(t, rng) for m, t in by_mix.items()}
        out["effects"][tier] = {m: _effects(t, ("seed",), rng) for m, t in by_mix.items()}
        if len(by_mix) > 1:
            out["pooled"][tier] = pooled(by_mix, rng)
        chained = trials[trials["chain"] != ""]
        if not chained.empty:
            out["curves"][tier]["chain"] = curve(chained, rng)
            out["chains"][tier] = _chains(chained, dev, selection, rng)
    return out


def analyse(table: pd.DataFrame, *, catalog: Any = None, selection: str = "english_dev",
            seed: int = 0) -> dict[str, Any]:
    """The whole analysis of a results table, as plain data (`sweeper report --json`)."""
    rng = np.random.default_rng(seed)
    whole = with_defaults(table)
    ladder = rungs.ladder_section(whole, selection, rng, target_analysis) \
        if rungs.is_ladder(whole) else None
    # a ladder's answer is its full rung's, never pooled with the cheaper rungs
    table = rungs.at_rung(whole, rungs.rung_order(whole)[-1]) if ladder else whole
    targets = {t: target_analysis(rows, selection, rng) for t, rows in table.groupby("target")}
    effect = {t: {tier: {m: e["adjusted"] for m, e in mixes.items()}
                  for tier, mixes in a["effects"].items()} for t, a in targets.items()}
    for t, a in targets.items():
        for tier, ch in a["chains"].items():
            effect[t].setdefault(tier, {})["chain"] = ch["count_effect"]["adjusted"]
    for t, rows in table.groupby("target"):
        targets[t]["helped"] = sections.helped(rows, selection, rng)
        targets[t]["selected"] = sections.selected(rows)
    return {"rows": int(len(whole)), "trials": listings.trial_counts(whole),
            "synthetic": bool((table["data_source"] == "sample").any()),
            "protocols": listings.protocols(table, selection),
            "count_effect": effect, "targets": targets, "apart": listings.apart(table),
            "not_comparable": listings.not_comparable(table),
            "licences": listings.licences(table, catalog),
            "notes": listings.notes(table), **({"ladder": ladder} if ladder else {})}


def with_defaults(table: pd.DataFrame) -> pd.DataFrame:
    """A user's table may lack our optional columns: fill their neutral values."""
    table = table.copy()
    defaults = {"role": "trial", "chain": "", "added": "", "arm": "", "comparable": True,
                "data_source": "", "model": "", "run_name": "", "retrieval_protocol": "",
                "rung": "", "rung_level": np.nan, "rung_via": ""}
    for column, value in defaults.items():
        if column not in table:
            table[column] = value
    table["role"] = table["role"].fillna("trial")
    table["comparable"] = table["comparable"].fillna(True).astype(bool)
    for column in ("tasks", "chain", "added", "mix", "budget", "retrieval_protocol", "rung",
                   "rung_via"):
        table[column] = text_column(table[column])
    return table
