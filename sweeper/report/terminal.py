"""The report's terminal summary: a few lines per target (the count effects of the low
tier and of all languages, task values, the tasks that helped), the ranking's grades and
a fidelity ladder's verdict, printed after the report is written."""

from __future__ import annotations

from typing import Any

from sweeper.report.numbers import ci, effect_text, metric_text, num


def terminal(analysis: dict[str, Any], title: str) -> str:
    """A few lines per target: the count effects of the low tier and of all languages."""
    tag = "  [SYNTHETIC sample data]" if analysis["synthetic"] else ""
    t = analysis["trials"]
    lines = [f"Sweep {title}: {t['finished']} trials finished, {t['stopped']} stopped, "
             f"{t['failed']} failed, {t['running']} running{tag}"]
    for target, found in analysis["targets"].items():
        lines.append(f"\n{target}: TEST gain per log(1+k)")
        for tier in ("low", "all"):
            for mix, e in found["effects"].get(tier, {}).items():
                lines.append(f"  {tier:<4} {mix:<12} {effect_text(e['adjusted'])}")
            chained = found["chains"].get(tier)
            if chained:
                lines.append(f"  {tier:<4} {'chains':<12} "
                             f"{effect_text(chained['count_effect']['adjusted'])}")
        chained = next(iter(found["chains"].values()), None)
        if chained and chained["values"]:
            how = f"ranked on {chained['ranked_on']}" if chained["ranked_on"] else "by name"
            lines.append(f"  task values over chains ({how}; test value beside): " + ", ".join(
                f"{v['task']} dev {num(v['dev'])} test {num(v['value'])} {ci(v)}"
                for v in chained["values"][:4]))
        top = [h for h in found["helped"]["tasks"] if h["dev"] is not None][:3]
        if top:
            lines.append(f"  ranked on {found['helped']['ranked_on']}: " + ", ".join(
                f"{h['task']} (dev {h['dev']:+.1f}, test {num(h['test'])})" for h in top))
    for target, found in (analysis.get("ranking") or {}).get("targets", {}).items():
        for split in ("dev", "test"):
            combined = found.get(split, {}).get("combined")
            if combined:
                lines.append(f"  ranking before the sweep, {target} {split}: Spearman "
                             f"{metric_text(combined['spearman'])}, Regret@3 "
                             f"{metric_text(combined['regret@3'])}")
    ladder = analysis.get("ladder")
    if ladder:  # the answer above is the full rung's; how far the cheaper rungs agree
        lines.append(f"\nfidelity ladder ({' -> '.join(ladder['rungs'])}; the answer above is "
                     f"the {ladder['rungs'][-1]} rung's):")
        lines += [f"  {target}: {found['agreement']['verdict']}"
                  for target, found in ladder["targets"].items()]
        lines += [f"  disagree: {d}" for d in ladder["disagree"]]
    lines += [f"  note: {n}" for n in analysis["notes"]]
    return "\n".join(lines)
