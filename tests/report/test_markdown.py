"""The report as text (report.md and the terminal's lines) from a simulated sweep's
analysis: every section, each number with its interval or the reason it has none."""

from __future__ import annotations

import copy
from pathlib import Path

from sweeper.report.markdown import effect_text, markdown
from sweeper.report.terminal import terminal


def _table_rows(lines: list[str], heading: str) -> list[str]:
    """The data rows of the table under `heading`."""
    start = lines.index(heading)
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_every_section_of_the_report(sim_analysis):
    figures = [Path("out/scaling_xnli.png"), Path("out/heatmap_xnli.png")]
    text = markdown(sim_analysis, "sim", figures)
    lines = text.splitlines()
    t = sim_analysis["trials"]
    assert lines[0] == "# Sweep report: sim" and "**SYNTHETIC sample data**" in text
    assert f"Trials: {t['finished']} finished, 0 stopped, 0 failed, 0 running " \
           f"({sim_analysis['rows']} table rows)." in lines
    assert "- Data: sample; model: tiny." in lines
    for heading in ("## xnli", "## Not zero-shot, kept apart", "## Licences of the data used"):
        assert heading in lines, heading
    assert "## Caveats" not in lines  # no notes
    xnli = sim_analysis["targets"]["xnli"]
    curve = _table_rows(lines, "### Mean TEST gain by number of tasks")
    assert len(curve) == sum(len(points) for mixes in xnli["curves"].values()
                             for points in mixes.values())
    point = xnli["curves"]["low"]["non_english"][0]
    assert any(row.startswith(f"| low | non_english | {point['k']} | {point['trials']} | ")
               and f"| {point['mean']:+.2f} |" in row for row in curve)
    values = _table_rows(lines, "### Task values over 8 chains (all languages)")  # 2 seeds x 4
    assert len(values) == len(xnli["chains"]["all"]["values"])
    helped = _table_rows(lines, "### Which tasks helped: ranked on DEV gains (english_dev), "
                                "test beside")
    top = xnli["helped"]["tasks"][0]
    assert helped[0].startswith(f"| {top['task']} | {top['dev']:+.2f} | "
                                f"[{top['low']:+.2f}, {top['high']:+.2f}] | {top['with']} |")
    picked = xnli["selected"]["english_dev"]
    assert f"| strict zero-shot (English dev) | {picked['tasks']} | {picked['dev']:.2f} | " \
           f"{picked['test']:.2f} |" in text
    (apart,) = _table_rows(lines, "## Not zero-shot, kept apart")
    assert apart.startswith("| xnli | translate_train | 1 | de,en,hi,sw,ur | ")
    assert apart.endswith("| no interval |")  # one trial: no interval
    assert "| t0 | not in the catalog | no |" in lines
    assert "![scaling_xnli](scaling_xnli.png)" in lines
    assert "![heatmap_xnli](heatmap_xnli.png)" in lines


def test_caveats_and_a_graded_ranking_get_their_sections(sim_analysis):
    analysis = copy.deepcopy(sim_analysis)
    analysis["notes"] = ["One seed: intervals cover the choice of tasks."]
    metric = {"estimate": 0.5, "low": 0.1, "high": 0.9}
    analysis["ranking"] = {"k": 3, "method": "signals: language, type", "targets": {"xnli": {
        "languages": ["sw"], "dev": {"tasks": 4, "combined": {
            "spearman": metric, "kendall": metric, "ndcg@3": metric,
            "regret@3": {"estimate": float("nan"), "low": None, "high": None},
            "note": "fewer than 3 seeds"}},
        "test": {"note": "no test numbers"}}}}
    lines = markdown(analysis, "sim", []).splitlines()
    assert lines[lines.index("## Caveats") + 2] == "- One seed: intervals cover the choice of " \
                                                   "tasks."
    assert "## The ranking before the sweep, graded" in lines
    assert "| combined | +0.50 [0.10, 0.90] | +0.50 [0.10, 0.90] | +0.50 [0.10, 0.90] | - |" \
        in lines
    assert "_fewer than 3 seeds_" in lines and "- xnli test: no test numbers." in lines
    said = terminal(analysis, "sim").splitlines()
    assert "  ranking before the sweep, xnli dev: Spearman +0.50 [0.10, 0.90], Regret@3 -" \
        in said
    assert said[-1] == "  note: One seed: intervals cover the choice of tasks."


def test_the_terminal_lines(sim_analysis):
    lines = terminal(sim_analysis, "sim").splitlines()
    t = sim_analysis["trials"]
    assert lines[0] == f"Sweep sim: {t['finished']} trials finished, 0 stopped, 0 failed, " \
                       "0 running  [SYNTHETIC sample data]"
    xnli = sim_analysis["targets"]["xnli"]
    low = xnli["effects"]["low"]["non_english"]["adjusted"]
    assert "xnli: TEST gain per log(1+k)" in lines
    assert f"  low  non_english  {effect_text(low)}" in lines
    chained = xnli["chains"]["low"]["count_effect"]["adjusted"]
    assert f"  low  chains       {effect_text(chained)}" in lines
    values = next(x for x in lines if x.startswith("  task values over chains"))
    assert values.startswith("  task values over chains (ranked on english_dev; test value "
                             f"beside): {xnli['chains']['all']['values'][0]['task']} dev ")
    top = xnli["helped"]["tasks"][0]
    assert any(x.startswith(f"  ranked on english_dev: {top['task']} (dev {top['dev']:+.1f}, ")
               for x in lines)


def test_an_effect_in_words():
    e = {"estimate": 1.2, "low": 0.4, "high": 2.0, "adjusted_for": ["distinct_examples"],
         "held_fixed": []}
    assert effect_text(e) == "+1.20 [+0.40, +2.00] per log(1+k), adjusted for " \
                             "distinct_examples"
    assert effect_text({**e, "adjusted_for": []}) == "+1.20 [+0.40, +2.00] per log(1+k), " \
                                                     "unadjusted"
    assert effect_text({**e, "adjusted_for": [], "held_fixed": ["examples_seen"]}) == \
        "+1.20 [+0.40, +2.00] per log(1+k)"  # held fixed by the design: nothing to adjust
    assert effect_text({**e, "low": None, "note": "2 units",
                        "bootstrap": {"low": 0.1, "high": 2.2}}) == \
        "+1.20 no interval per log(1+k), adjusted for distinct_examples (bootstrap check " \
        "[+0.10, +2.20]); 2 units"
    assert effect_text({"estimate": None, "note": "one count"}) == "no estimate: one count"
