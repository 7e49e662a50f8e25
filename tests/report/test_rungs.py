"""The report of a fidelity ladder, on simulated tables with a known truth: the answer is
the full rung's alone, each rung's answer comes from its own trials, the rung agreement
has intervals where enough sets reached both rungs, and a rung that answers otherwise is
named where the rungs disagree."""

from __future__ import annotations

import numpy as np
import pandas as pd
from simtables import simulate

from sweeper.report.compute import analyse
from sweeper.report.rungs import fidelity_frame, rung_order


def _ladder(screen_slope: float, full_slope: float, promoted: int = 8,
            audited: int = 4) -> pd.DataFrame:
    """Every set screened (slope `screen_slope`), the best `promoted` by the screen's
    English dev gain and a seeded `audited` of the rest at full (slope `full_slope`)."""
    kw = {"counts": (1, 2, 4, 8), "draws": 3, "seeds": 1}
    screen = simulate(0, slope=screen_slope, **kw).assign(rung="screen", rung_level=0,
                                                          rung_via="start")
    rng = np.random.default_rng(2)
    luck = {t: rng.normal(0, 1.5) for t in screen["trial_id"].unique()}  # the cheap rung's
    screen = screen.assign(gain=screen["gain"] + screen["trial_id"].map(luck))
    full = simulate(0, slope=full_slope, **kw)
    dev = screen[(screen["split"] == "dev") & (screen["language"] == "en")]
    order = dev.sort_values("gain", ascending=False)["trial_id"].tolist()
    up = order[:promoted]
    rest = list(np.random.default_rng(1).choice(order[promoted:], audited, replace=False))
    full = full[full["trial_id"].isin(up + rest)].assign(
        rung="full", rung_level=1,
        rung_via=lambda f: np.where(f["trial_id"].isin(up), "promoted", "audited"))
    screen = screen.assign(trial_id="screen-" + screen["trial_id"])
    return pd.concat([screen, full], ignore_index=True)


def test_the_answer_is_the_full_rungs_and_each_rung_stands_apart():
    table = _ladder(2.0, 2.0)
    assert rung_order(table) == ["screen", "full"]
    analysis = analyse(table)
    ladder = analysis["ladder"]
    answers = ladder["targets"]["xnli"]["answers"]
    assert answers["screen"]["trials"] == 12 and answers["full"]["trials"] == 12
    # the main answer: the full rung's 12 trials only, never the 12 screened ones besides
    curve = analysis["targets"]["xnli"]["curves"]["all"]["non_english"]
    assert sum(p["trials"] for p in curve) == 12
    assert analysis["trials"]["finished"] == 24  # both rungs counted in the summary
    pair = ladder["targets"]["xnli"]["agreement"]["pairs"][0]
    assert pair["sets"] == 12 and pair["audited"] == 4 and pair["passed_over"] == 4
    low, high = pair["spearman_interval"]
    assert low < pair["spearman"] < high and high - low > 0


def test_rungs_that_answer_otherwise_are_named():
    from sweeper.report.markdown import markdown
    from sweeper.report.terminal import terminal

    analysis = analyse(_ladder(-3.0, 3.0))
    said = " ".join(analysis["ladder"]["disagree"])
    assert "count effect" in said and "screen" in said and "full" in said
    text = markdown(analysis, "t", [])
    assert "## The fidelity ladder" in text and "### Where the rungs disagree" in text
    assert "the count effect" in text.split("### Where the rungs disagree")[1]
    assert "fidelity ladder (screen -> full" in terminal(analysis, "t")


def test_the_audit_frame_is_one_row_per_set_and_rung_without_the_reference():
    table = _ladder(2.0, 2.0)
    extra = table[(table["rung"] == "screen") & (table["k"] == 1)].head(10).assign(
        rung="full", rung_level=1, rung_via="reference", trial_id="ref")
    frame = fidelity_frame(pd.concat([table, extra]).assign(
        role="trial", comparable=True, arm="", chain=""), ["screen", "full"], "english_dev")
    assert not frame.duplicated(["set", "rung"]).any()
    assert (frame["rung"] == "full").sum() == 12 and frame["audited"].sum() == 4


def test_another_rungs_baseline_is_never_picked_at_a_rung():
    table = _ladder(2.0, 2.0)
    base = table[(table["rung"] == "full") & (table["split"] == "dev")].head(5).assign(
        trial_id="full-baseline", rung="", rung_level=np.nan, rung_via="", role="baseline",
        tasks="", k=0, score=1e6, gain=0.0)  # would top any pick it were allowed into
    analysis = analyse(pd.concat([table.assign(role="trial"), base], ignore_index=True))
    picks = {r: a["picked"] for r, a in analysis["ladder"]["targets"]["xnli"]["answers"].items()}
    assert "" not in picks.values(), picks
