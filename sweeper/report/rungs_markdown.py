"""The fidelity ladder's section of report.md: each rung's answer side by side (never
pooled), the rung agreement per rung pair with its intervals (or why there are none),
and where the rungs disagree (from sweeper.report.rungs)."""

from __future__ import annotations

from typing import Any

from sweeper.report.numbers import effect_text, num


def _agreement(found: dict[str, Any]) -> list[str]:
    """The rung agreement of one target: per rung pair, with intervals or why none."""
    a = found["agreement"]
    lines = ["| rungs | sets at both | audited | passed over | Spearman | 95% CI | Kendall | "
             "95% CI | P(best screened out) |", "|---|---|---|---|---|---|---|---|---|"]
    for p in a["pairs"]:
        lines.append(f"| {p['low']} -> {p['high']} | {p['sets']} | {p['audited']} | "
                     f"{p['passed_over']} | {num(p['spearman'], False)} | "
                     f"{_span(p['spearman_interval'], p['note'])} | "
                     f"{num(p['kendall'], False)} | {_span(p['kendall_interval'], p['note'])} "
                     f"| {num(p['screened_out'], False)} |")
    regret = ", ".join(f"Regret@{k} {num(a[f'regret_at_{k}'], False)}" for k in (1, 3))
    notes = sorted({p["note"] for p in a["pairs"] if p["note"]})
    return lines + ["", f"{regret} (TEST gain points); {a['verdict']}."] + \
        [f"_{n}_" for n in notes] + [""]


def _span(interval: Any, note: str | None) -> str:
    return f"[{interval[0]:.2f}, {interval[1]:.2f}]" if interval else (
        "none: too few sets" if note and "needs" in note else "none")


def ladder_markdown(analysis: dict[str, Any]) -> list[str]:
    """Each rung's answer side by side (never pooled), their agreement, and where they
    disagree."""
    ladder = analysis.get("ladder")
    if not ladder:
        return []
    order = ladder["rungs"]
    lines = ["## The fidelity ladder", "", f"Rungs from cheap to full: {', '.join(order)}. "
             "Each rung's numbers come from its own trials only.", ""]
    for target, found in ladder["targets"].items():
        answers = found["answers"]
        lines += [f"### {target}: the answer per rung", "",
                  "| rung | trials | count effect (all languages, adjusted) | best tasks "
                  "(DEV effect) | picked (DEV) |", "|---|---|---|---|---|"]
        for rung in order:
            r = answers.get(rung)
            if r is None:
                continue
            effects = "; ".join(f"{m}: {effect_text(e)}" for m, e in r["count_effect"].items())
            best = ", ".join(f"{v['task']} {num(v['dev'])}" for v in r["values"][:3])
            lines.append(f"| {rung} | {r['trials']} | {effects or '-'} | {best or '-'} | "
                         f"{'-' if r['picked'] is None else r['picked'] or '(none)'} |")
        lines += ["", f"### {target}: rung agreement (DEV objective per set, mean over "
                  "seeds; audited sets a random sample of the passed-over)", ""]
        lines += _agreement(found)
    cost = ladder.get("cost")
    if cost:
        lines += ["What the ladder's trials cost against running every set at the full "
                  "rung: " + ", ".join(f"{k} {v:.0%}" for k, v in cost.items()) + ".", ""]
    lines += ["### Where the rungs disagree", ""]
    lines += [f"- {d}" for d in ladder["disagree"]] or \
        ["- Nowhere measured: the count effects, picks and rankings agree within their "
         "intervals (or lack intervals to tell)."]
    return lines + [""]

