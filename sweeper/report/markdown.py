"""The report as markdown: report.md, from the analysis (sweeper.report.compute.analyse),
section by section. Every number is printed with its interval, or with the reason it has
none (sweeper.report.numbers), and beside the protocol it was made under."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeper.report.numbers import ci, effect_text, metric_text, num
from sweeper.report.rungs_markdown import ladder_markdown

TIERS = ("all", "low", "mid", "high")


def _effects(found: dict[str, Any]) -> list[str]:
    lines = ["### The count effect (TEST gain per unit of log(1+k), k >= 1)", "",
             "| tier | composition | units | counts | adjusted estimate | naive estimate |",
             "|---|---|---|---|---|---|"]
    for tier in TIERS:
        for mix, e in found["effects"].get(tier, {}).items():
            adj, naive = e["adjusted"], e["naive"]
            lines.append(f"| {tier} | {mix} | {adj['units']} | {adj['counts']} | "
                         f"{effect_text(adj)} | {effect_text(naive)} |")
        chained = found["chains"].get(tier)
        if chained:
            e = chained["count_effect"]
            lines.append(f"| {tier} | chains (paired) | {e['adjusted']['units']} | "
                         f"{e['adjusted']['counts']} | {effect_text(e['adjusted'])} | "
                         f"{effect_text(e['naive'])} |")
    turns = []
    for tier in TIERS:
        named = dict(found["effects"].get(tier, {}))
        if tier in found["chains"]:
            named["chains"] = found["chains"][tier]["count_effect"]
        for mix, e in named.items():
            p = e["peak"]
            turns.append(f"- {tier}, {mix}: " + (f"peaks near {p['k']:.1f} tasks "
                                                 f"[{p['low']:.1f}, {p['high']:.1f}]"
                                                 if p.get("k") is not None else p["note"]))
        pooled = found["pooled"].get(tier)
        if pooled:
            turns.append(f"- {tier}, compositions pooled: " + (
                effect_text(pooled["adjusted"]) if "adjusted" in pooled else pooled["note"]))
    if turns:
        lines += ["", "Where the curve turns down (a quadratic in log(1+k), with its "
                      "interval), and the compositions pooled:", ""] + turns
    return lines + [""]


def _curves(found: dict[str, Any]) -> list[str]:
    lines = ["### Mean TEST gain by number of tasks", "",
             "| tier | composition | k | trials | units | seeds | stopped | failed | mean gain "
             "| 95% CI |", "|---|---|---|---|---|---|---|---|---|---|"]
    for tier in TIERS:
        for mix, points in found["curves"].get(tier, {}).items():
            for p in points:
                why = "" if p["low"] is not None else f" ({p['units']} unit(s): needs 3)"
                lines.append(f"| {tier} | {mix} | {p['k']} | {p['trials']} | {p['units']} | "
                             f"{p['seeds']} | {p['stopped']} | {p['failed']} | "
                             f"{num(p['mean'])} | {ci(p)}"
                             f"{why if p['mean'] is not None else ''} |")
    return lines + [""]


def _chains(found: dict[str, Any]) -> list[str]:
    tier, chained = next(iter(found["chains"].items()), (None, None))
    if not chained:
        return []
    ranked = chained["ranked_on"]
    lines = [f"### Task values over {chained['chains']} chains ({tier} languages)", "",
             "Each task's mean marginal gain when added to the tasks before it in a random "
             "order (Shapley-style), with 95% intervals from a bootstrap over seeds and "
             "chains. " + (f"Ranked on DEV ({ranked}); TEST beside." if ranked else
                          "No DEV numbers to rank on: listed by name, TEST shown."), "",
             "| task | dev value | dev 95% CI | test value | test 95% CI | chains | "
             "mean position |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {v['task']} | {num(v['dev'])} | {ci(v, 'dev_low', 'dev_high')} | "
              f"{num(v['value'])} | {ci(v)} | {v['chains']} | {v['mean_position']:.1f} |"
              for v in chained["values"]]
    lines += ["", "Diminishing returns: the mean marginal TEST gain of the k-th task added:",
              "", "| k | mean marginal gain | 95% CI | chains |", "|---|---|---|---|"]
    lines += [f"| {p['k']} | {num(p['mean'])} | {ci(p)} | {p['n']} |"
              for p in chained["profile"]]
    return lines + (["", chained["note"]] if chained["note"] else []) + [""]


def _helped(found: dict[str, Any], selection: str) -> list[str]:
    helped = found["helped"]
    other = "target_dev" if selection == "english_dev" else "english_dev"
    lines = [f"### Which tasks helped: ranked on DEV gains ({selection}), test beside", ""]
    if helped.get("note"):
        lines += [helped["note"], ""]
    if not helped["tasks"]:
        return lines
    lines += ["Effect = mean gain of sets with the task minus sets of the same size without "
              "it.", "", f"| task | dev effect | 95% CI | with | without | {other} effect "
              "(beside) | test effect |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {h['task']} | {num(h['dev'])} | {ci(h)} | {h['with']} | {h['without']} | "
              f"{num(h[other])} | {num(h['test'])} |" for h in helped["tasks"][:15]]
    return lines + [""]


def _selected(found: dict[str, Any]) -> list[str]:
    picked = found.get("selected") or {}
    if not picked:
        return []
    lines = ["### The trial each selection protocol picks (by DEV), with its TEST numbers", "",
             "| protocol | tasks | dev score | test score | test low tier | test gain |",
             "|---|---|---|---|---|---|"]
    for protocol, label in (("english_dev", "strict zero-shot (English dev)"),
                            ("target_dev", "oracle (target-language dev)")):
        p = picked.get(protocol, {})
        if "trial_id" not in p:
            lines.append(f"| {label} | {p.get('note', '-')} | - | - | - | - |")
            continue
        lines.append(f"| {label} | {p['tasks'] or '(none)'} | {num(p['dev'], False)} | "
                     f"{num(p['test'], False)} | {num(p['test_low'], False)} | "
                     f"{num(p['test_gain'])} |")
    return lines + [""]


def _apart(analysis: dict[str, Any]) -> list[str]:
    lines = []
    if analysis["apart"]:
        lines += ["## Not zero-shot, kept apart", "",
                  "Only the languages (and targets) a task breaks zero-shot for are here.", "",
                  "| target | protocol | trials | languages | mean TEST gain | 95% CI |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {a['target']} | {a['protocol']} | {a['trials']} | "
                  f"{','.join(a['languages'])} | {num(a['mean_gain'])} | {ci(a)} |"
                  for a in analysis["apart"]] + [""]
    if analysis["not_comparable"]:
        lines += ["## Not comparable with XTREME", ""]
        lines += [f"- {a['target']}: {a['why']}; {a['trials']} trials, mean TEST gain "
                  f"{num(a['mean_gain'])} {ci(a)}" for a in analysis["not_comparable"]]
        lines.append("")
    return lines


def markdown(analysis: dict[str, Any], title: str, figures: list[Path]) -> str:
    """report.md's text: the protocols, each target's sections and figures, what was kept
    apart, the ranking's grades, the data's licences and the caveats."""
    p = analysis["protocols"]
    lines = [f"# Sweep report: {title}", ""]
    if analysis["synthetic"]:
        lines += ["> **SYNTHETIC sample data**: these numbers exercise the tool; they say "
                  "nothing about real languages.", ""]
    t = analysis["trials"]
    lines += [f"Trials: {t['finished']} finished, {t['stopped']} stopped, {t['failed']} failed, "
              f"{t['running']} running ({analysis['rows']} table rows).", "",
              f"- Curves and count effects: {p['curves']}.",
              f"- Selection (which tasks helped, which trial is picked): {p['selection']}; "
              f"{p['oracle']}.",
              f"- Data: {', '.join(p['data_source']) or '-'}; model: "
              f"{', '.join(p['model']) or '-'}.",
              f"- Intermediate budget(s): {'; '.join(p['budget']) or '-'}."]
    lines += [f"- Retrieval: {r}." for r in p.get("retrieval_protocol", [])] + [""]
    selection = p["selection"].split(" ")[0]
    if analysis.get("ladder"):
        lines += [f"The answer below is the full rung's ({analysis['ladder']['rungs'][-1]}) "
                  "alone; the cheaper rungs are side by side in 'The fidelity ladder'.", ""]
    for target, found in analysis["targets"].items():
        lines += [f"## {target}", ""] + _effects(found) + _curves(found) + _chains(found)
        lines += _helped(found, selection) + _selected(found)
        lines += [f"![{f.stem}]({f.name})" for f in figures if f.stem.endswith(target)] + [""]
    lines += ladder_markdown(analysis) + _apart(analysis) + _ranking(analysis)
    lines += ["## Licences of the data used", "", "| task | licence | non-commercial |",
              "|---|---|---|"]
    lines += [f"| {x['task']} | {x['license']} | {'**yes**' if x['non_commercial'] else 'no'} |"
              for x in analysis["licences"]] + [""]
    if analysis["notes"]:
        lines += ["## Caveats", ""] + [f"- {n}" for n in analysis["notes"]]
    return "\n".join(lines) + "\n"



def _ranking(analysis: dict[str, Any]) -> list[str]:
    """The ranking logged before the sweep, graded on what it measured."""
    graded = analysis.get("ranking")
    if not graded:
        return []
    k = graded["k"]
    lines = ["## The ranking before the sweep, graded", "", graded["method"], ""]
    for target, found in graded["targets"].items():
        for split in ("dev", "test"):
            part = found.get(split, {})
            if "note" in part and "tasks" not in part:
                lines += [f"- {target} {split}: {part['note']}."]
                continue
            lines += [f"### {target}, {split} ({part['tasks']} tasks trained alone; languages "
                      f"{', '.join(found['languages'])})", "",
                      f"| signal | Spearman | Kendall | NDCG@{k} | Regret@{k} |",
                      "|---|---|---|---|---|"]
            for name, m in part.items():
                if isinstance(m, dict):
                    lines.append(f"| {name} | {metric_text(m['spearman'])} | "
                                 f"{metric_text(m['kendall'])} | {metric_text(m[f'ndcg@{k}'])} "
                                 f"| {metric_text(m[f'regret@{k}'])} |")
            notes = {m["note"] for m in part.values() if isinstance(m, dict) and "note" in m}
            lines += [""] + [f"_{n}_" for n in sorted(notes)] + [""]
    return lines + [""]
