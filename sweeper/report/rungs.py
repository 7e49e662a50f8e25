"""The report's section on a fidelity ladder: the answer per rung, side by side, how well
the rungs agree, and where they disagree.

Per rung (its trials only: a rung's numbers are never pooled with another's), per
target: the count effect (all languages, each composition and the chains) and the task
values (which tasks helped, on DEV, test beside), and the set strict zero-shot selection
picks. Per target, the rung agreement of sweeper.report.fidelity.audit_ladder over the
sets the sweep ran: one row per (set, rung), its DEV objective under the selection
protocol (the mean over its seeds; what the ladder promoted on) and its mean TEST gain;
a set sent up by the audit is marked (the table's `rung_via`), the reference set sent
up only so that every rung has one is left out above the first rung. Pure: pandas in,
plain dicts out.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from sweeper.report import sections
from sweeper.report.fidelity import audit_ladder, cost_saved

Analyse = Callable[[pd.DataFrame, str, np.random.Generator], dict[str, Any]]


def is_ladder(table: pd.DataFrame) -> bool:
    """The table holds trials of a fidelity ladder."""
    return "rung" in table and bool((table["rung"].fillna("") != "").any())


def rung_order(table: pd.DataFrame) -> list[str]:
    """The ladder's rungs from cheap to full (by `rung_level`, else by name)."""
    rows = table[table["rung"] != ""]
    level = rows.groupby("rung")["rung_level"].min() if "rung_level" in rows else None
    return sorted(rows["rung"].unique(),
                  key=lambda r: (level[r] if level is not None and pd.notna(level[r]) else 0, r))


def at_rung(table: pd.DataFrame, rung: str) -> pd.DataFrame:
    """A rung's trials only: their gains are already measured against their own rung's
    baseline (same key), and the set without tasks runs at every rung, so no other
    rung's run (a baseline of another encoder included) can be picked or counted."""
    return table[table["rung"] == rung]


def _set_name(row: pd.Series) -> str:
    """A set across rungs: its tasks, budget arm and chain (a rung changes the budget
    itself, so the `budget` column differs between rungs for the same set)."""
    return "|".join(str(row.get(c, "")) for c in ("tasks", "arm", "chain"))


def fidelity_frame(rows: pd.DataFrame, order: list[str], selection: str) -> pd.DataFrame:
    """One row per (set, rung) of one target: `objective` (DEV gain under the selection
    protocol, mean over seeds), `test` (TEST gain), `audited`."""
    clean = sections.clean(rows[(rows["role"] != "baseline") & (rows["rung"] != "")])
    if clean.empty:
        return pd.DataFrame(columns=["set", "rung", "objective", "test", "audited"])
    trials = sections.per_trial(clean, "gain")
    meta = clean.groupby("trial_id").agg(rung=("rung", "first"), via=("rung_via", "first"),
                                         arm=("arm", "first"))
    trials = trials.join(meta)
    trials = trials[(trials["via"] != "reference") | (trials["rung"] == order[0])]
    trials["set"] = trials.apply(_set_name, axis=1)
    trials["audited"] = trials["via"] == "audited"
    frame = trials.groupby(["set", "rung"], as_index=False).agg(
        objective=(selection, "mean"), test=("test", "mean"), audited=("audited", "any"))
    return frame.dropna(subset=["objective"])


def _answer(found: dict[str, Any], rows: pd.DataFrame, selection: str,
            rng: np.random.Generator) -> dict[str, Any]:
    """One rung's answer for one target, in brief."""
    effects = {m: e["adjusted"] for m, e in found["effects"].get("all", {}).items()}
    if "all" in found["chains"]:
        effects["chain"] = found["chains"]["all"]["count_effect"]["adjusted"]
    helped = sections.helped(rows, selection, rng)
    picked = sections.selected(rows).get(selection, {})
    return {"count_effect": effects, "values": helped["tasks"][:5],
            "picked": picked.get("tasks") if "trial_id" in picked else None,
            "trials": int(rows[rows["role"] != "baseline"]["trial_id"].nunique())}


def _apart(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return None not in (a.get("low"), b.get("low")) and (a["high"] < b["low"]
                                                           or b["high"] < a["low"])


def disagreements(target: str, answers: dict[str, dict[str, Any]], order: list[str],
                  agreement: dict[str, Any]) -> list[str]:
    """Where a cheaper rung's answer differs from the full rung's, in words."""
    full, out = order[-1], []
    top = answers.get(full, {})
    for rung in order[:-1]:
        low = answers.get(rung, {})
        for mix, e in low.get("count_effect", {}).items():
            f = top.get("count_effect", {}).get(mix)
            if not f or e.get("estimate") is None or f.get("estimate") is None:
                continue
            if _apart(e, f):
                out.append(f"{target}, {mix}: the count effect at {rung} "
                           f"[{e['low']:.2f}, {e['high']:.2f}] and at {full} "
                           f"[{f['low']:.2f}, {f['high']:.2f}] do not overlap")
            elif np.sign(e["estimate"]) != np.sign(f["estimate"]):
                out.append(f"{target}, {mix}: the count effect changes sign from {rung} "
                           f"({e['estimate']:+.2f}) to {full} ({f['estimate']:+.2f})")
        if low.get("picked") is not None and top.get("picked") is not None \
                and low["picked"] != top["picked"]:
            out.append(f"{target}: {rung} picks {low['picked'] or '(none)'}, {full} picks "
                       f"{top['picked'] or '(none)'}")
    if agreement.get("trusted") is False:
        out.append(f"{target}: {agreement['verdict']}")
    return out


def ladder_section(table: pd.DataFrame, selection: str, rng: np.random.Generator,
                   analyse_target: Analyse) -> dict[str, Any]:
    """The ladder's section: per target, each rung's answer, the rung agreement, and
    where the rungs disagree. `analyse_target`: the report's analysis of one target's
    rows (sweeper.report.compute.target_analysis)."""
    order = rung_order(table)
    out: dict[str, Any] = {"rungs": order, "targets": {}, "disagree": []}
    for target, rows in table.groupby("target"):
        answers = {}
        for rung in order:
            part = at_rung(rows, rung)
            if (part["rung"] == rung).any():
                answers[rung] = _answer(analyse_target(part, selection, rng), part,
                                        selection, rng)
        audit = audit_ladder(fidelity_frame(rows, order, selection), order, rng=rng)
        agreement = audit.as_dict()
        out["targets"][target] = {"answers": answers, "agreement": agreement}
        out["disagree"] += disagreements(str(target), answers, order, agreement)
    return out


def sweep_cost(table: pd.DataFrame, spec: Any, catalog: Any) -> dict[str, float]:
    """What the ladder's trials cost as shares of the full grid's (every set at the last
    rung): trials, trainings, examples and compute, from the trials each rung really ran
    and one trial's work on paper at that rung (sweeper.space.fidelity_cost)."""
    from sweeper.space.fidelity import at_rung as settings_at
    from sweeper.space.fidelity import encoder_size
    from sweeper.space.fidelity_cost import RungCost, Work, trial_work
    from sweeper.space.space import grid, params_to_settings

    points = grid(spec)
    base = [params_to_settings(spec, p) for p in points]
    ran = table[(table["role"] != "baseline") & (table["rung"] != "")] \
        .groupby("rung")["trial_id"].nunique()
    costs, per = [], Work()
    for rung in spec.fidelity.rungs:
        works = [trial_work(settings_at(rung, s), catalog) for s in base]
        per = Work(1, sum(w.trainings for w in works) / len(works),
                   sum(w.examples for w in works) / len(works))
        n, size = int(ran.get(rung.name, 0)), encoder_size(rung.model) or 1
        costs.append(RungCost(rung.name, n, False, Work(n, n * per.trainings,
                                                        n * per.examples,
                                                        n * per.examples * size)))
    size = encoder_size(spec.fidelity.full.model) or 1
    full = Work(len(points), len(points) * per.trainings, len(points) * per.examples,
                len(points) * per.examples * size)
    return cost_saved(costs, full)

