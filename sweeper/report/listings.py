"""The report's listings from the results table: trial counts, the protocols its numbers
follow, results kept apart (not zero-shot, not comparable with XTREME), the licences of
the data and caveats. Pure: pandas in, plain dicts out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sweeper.report.sections import SELECTIONS
from sweeper.report.stats import t_interval


def trial_counts(table: pd.DataFrame) -> dict[str, int]:
    trials = table[table["role"] != "baseline"].groupby("trial_id")["status"].first()
    return {s: int((trials == s).sum()) for s in ("finished", "stopped", "failed", "running")}


def protocols(table: pd.DataFrame, selection: str) -> dict[str, Any]:
    """What every number depends on, named beside it."""
    def values(column: str) -> list[str]:
        return sorted({str(v) for v in table[column].dropna() if str(v)})

    return {"selection": f"{selection} ({SELECTIONS[selection]})",
            "oracle": "target_dev (target-language dev sets), reported beside, never instead",
            "curves": "TEST gains over the baseline run with the same baseline key; "
                      "zero-shot rows comparable with XTREME only",
            "data_source": values("data_source"), "model": values("model"),
            "retrieval_protocol": values("retrieval_protocol"),
            "budget": [b for b in values("budget") if b != "(none)"]}


def _summary(rows: pd.DataFrame) -> dict[str, Any]:
    per_trial = rows.groupby("trial_id")["gain"].mean().dropna()
    mean, low, high = t_interval(per_trial.tolist()) if len(per_trial) else (None, None, None)
    return {"trials": int(rows["trial_id"].nunique()),
            "languages": sorted(rows["language"].unique()), "mean_gain": mean, "low": low,
            "high": high}


def apart(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Finished results that are not zero-shot, per target and protocol (TEST gains)."""
    rows = table[(table["status"] == "finished") & (table["split"] == "test")
                 & (table["protocol"] != "zero_shot") & (table["role"] != "baseline")]
    return [{"target": t, "protocol": p, **_summary(g)}
            for (t, p), g in rows.groupby(["target", "protocol"])]


def not_comparable(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Finished results that differ in kind from XTREME's (BUCC mined over the gold pairs
    only), per target (TEST gains)."""
    rows = table[(table["status"] == "finished") & (table["split"] == "test")
                 & ~table["comparable"] & (table["role"] != "baseline")]
    return [{"target": t, "why": "BUCC from the hub's gold-pair-only configs (no "
                                 "distractor sentences): far easier than XTREME's task",
             **_summary(g)} for t, g in rows.groupby("target")]


def licences(table: pd.DataFrame, catalog: Any) -> list[dict[str, Any]]:
    """The licence of every task whose data the table's numbers used; non-commercial
    ones flagged."""
    names = {t for s in table["tasks"] for t in s.split(",") if t} | set(table["target"])
    out = []
    for name in sorted(names):
        task = catalog.tasks.get(name) if catalog is not None else None
        out.append({"task": name, "license": task.license if task else "not in the catalog",
                    "non_commercial": bool(task and task.is_non_commercial)})
    return out


def notes(table: pd.DataFrame) -> list[str]:
    """Caveats in words."""
    out = []
    counts = trial_counts(table)
    if counts["running"]:
        out.append(f"The sweep is still running: {counts['running']} trial(s) running are "
                   "left out of every number.")
    if counts["stopped"] or counts["failed"]:
        out.append(f"{counts['stopped']} trial(s) stopped by a scheduler and "
                   f"{counts['failed']} failed are left out of every number and counted per "
                   "point.")
    done = table[(table["status"] == "finished") & (table["role"] != "baseline")]
    if done["seed"].nunique() == 1 and len(done):
        out.append("One seed: intervals cover the choice of tasks, not the noise of the seed "
                   "(every gain of a seed shares one baseline run).")
    empty = done[(done["k"] >= 1) & (done["examples_seen"].isna()
                                     | done["distinct_examples"].isna())]["trial_id"].nunique()
    if empty:
        out.append(f"{empty} trial(s) have no examples_seen or distinct_examples: the count "
                   "effects are not adjusted for what is missing.")
    orphans = done[done["score"].notna() & done["gain"].isna()]["trial_id"].nunique()
    if orphans:
        out.append(f"{orphans} trial(s) have no baseline with the same baseline key: they "
                   "have scores but no gains.")
    return out
