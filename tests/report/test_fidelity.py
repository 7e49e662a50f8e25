"""The ladder's audit in the report: rank agreement between rungs with intervals (none
from fewer than 3 sets, never zero-width), the screened-out probability, Regret@k, the
cost saved and the verdict, on tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sweeper.report.fidelity import (
    TRUSTED,
    audit_ladder,
    rank_agreement,
    regret,
    screened_out,
)
from sweeper.space.fidelity import Audit, Ladder, Promote, Rung, audit, promote
from sweeper.space.fidelity_cost import Work, ladder_cost


def _table(cheap: dict[str, float], full: dict[str, float], top: float = 0.2) -> pd.DataFrame:
    """A two-rung ladder run on known numbers (test = the full objective + 1)."""
    up = promote(Promote(top=top), cheap)
    extra = audit(Audit(share=0.1, min=3), [s for s in cheap if s not in up], "screen")
    rows = [{"set": s, "rung": "screen", "objective": v, "test": v, "audited": False}
            for s, v in cheap.items()]
    rows += [{"set": s, "rung": "full", "objective": full[s], "test": full[s] + 1.0,
              "audited": s in extra} for s in up + extra]
    return pd.DataFrame(rows)


def _noisy(rho: float, n: int = 40, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(70, 2, n)
    cheap = rho * (truth - 70) / 2 + np.sqrt(1 - rho ** 2) * rng.normal(0, 1, n)
    names = [f"s{i:02d}" for i in range(n)]
    return dict(zip(names, 60 + cheap)), dict(zip(names, truth))


def test_agreement_has_intervals_around_it_and_the_verdict_reads_them():
    cheap, full = _noisy(0.9)
    report = audit_ladder(_table(cheap, full, top=0.5), ["screen", "full"])
    pair = report.pairs[0]
    assert pair.sets == 20 + 3 and pair.audited == 3 and pair.passed_over == 20
    low, high = pair.spearman_interval
    assert low < pair.spearman < high and pair.kendall_interval[0] < pair.kendall
    assert report.trusted is (low >= TRUSTED) and str(TRUSTED) in report.verdict
    table = _table(cheap, full, top=0.5)
    both = table[table["set"].isin(table.loc[table["rung"] == "full", "set"])]
    wide = both.pivot(index="set", columns="rung", values="objective")
    assert pair.spearman == pytest.approx(stats.spearmanr(wide["screen"], wide["full"])[0])
    assert pair.kendall == pytest.approx(stats.kendalltau(wide["screen"], wide["full"])[0])


def test_a_weak_cheap_rung_is_not_trusted():
    cheap, full = _noisy(0.0, n=60, seed=3)
    report = audit_ladder(_table(cheap, full, top=0.5), ["screen", "full"])
    assert report.trusted is False and report.verdict.startswith("not trusted")


def test_perfect_agreement_gives_no_zero_width_interval():
    values = {f"s{i}": float(i) for i in range(10)}
    out = rank_agreement(np.arange(10.0), np.arange(10.0) + 5, np.random.default_rng(0))
    assert out["spearman"] == pytest.approx(1.0) and out["kendall"] == pytest.approx(1.0)
    assert out["spearman_interval"] is None and out["kendall_interval"] is None
    report = audit_ladder(_table(values, values), ["screen", "full"])
    assert report.trusted is None and report.verdict.startswith("no verdict")


def test_no_agreement_from_fewer_than_three_sets():
    out = rank_agreement(np.array([1.0, 2.0]), np.array([2.0, 1.0]), np.random.default_rng(0))
    assert "spearman" not in out and "needs 3" in out["note"]
    flat = rank_agreement(np.ones(5), np.arange(5.0), np.random.default_rng(0))
    assert "same objective" in flat["note"]


def test_screened_out_is_exact_when_everything_passed_over_was_audited():
    rng = np.random.default_rng(0)
    assert screened_out(5.0, np.array([1.0, 6.0, 2.0]), 3, rng) == 1.0
    assert screened_out(5.0, np.array([1.0, 4.0, 2.0]), 3, rng) == 0.0
    assert screened_out(5.0, np.array([1.0, 6.0]), 20, rng) is None  # too few audited
    assert screened_out(5.0, np.array([1.0, 6.0, 2.0]), 3, rng, sign=-1.0) == 1.0
    # one audited set in three beats the best: over 30 passed over, almost surely one does
    assert screened_out(5.0, np.array([1.0, 6.0, 2.0]), 30, rng) > 0.99
    assert screened_out(5.0, np.array([1.0, 2.0, 3.0]), 30, rng) == 0.0


def test_regret_of_the_ladders_choice_against_the_best_measured_at_full_fidelity():
    full = pd.DataFrame({"set": list("abcd"), "objective": [9.0, 8.0, 7.0, 6.0],
                         "test": [70.0, 72.0, 71.0, 75.0],
                         "audited": [False, False, False, True]})
    assert regret(full, 1) == 5.0 and regret(full, 3) == 3.0
    assert regret(full, 1, sign=-1.0) == 4.0  # lower objective is better: c first
    assert regret(full[full["audited"]], 1) is None


def test_the_cost_saved_is_read_against_the_full_grid():
    cheap, full = _noisy(0.9)
    ladder = Ladder((Rung("screen", "tiny", 0.25, promote=Promote(top=0.2)),
                     Rung("full", "small")))
    cost = ladder_cost(ladder, 40, [Work(trainings=2, examples=100.0),
                                    Work(trainings=2, examples=400.0)])
    report = audit_ladder(_table(cheap, full), ["screen", "full"], cost=cost)
    assert report.cost["trials"] == pytest.approx((40 + 8 + 4) / 40)  # 20% and max(3, 10% of 32)
    assert 0 < report.cost["compute"] < 0.5
    assert report.as_dict()["cost"] == report.cost


def test_a_table_without_its_columns_or_with_a_set_twice_is_refused():
    with pytest.raises(ValueError, match="audited"):
        audit_ladder(pd.DataFrame({"set": [], "rung": [], "objective": [], "test": []}),
                     ["screen", "full"])
    table = _table(*_noisy(0.9))
    with pytest.raises(ValueError, match="one row per set and rung"):
        audit_ladder(pd.concat([table, table.head(1)]), ["screen", "full"])


def test_three_rungs_give_two_pairs_and_a_ladder_wide_screened_out():
    cheap, full = _noisy(0.6, n=60, seed=5)
    mid = {s: (cheap[s] + full[s]) / 2 for s in cheap}
    first = _table(cheap, mid, top=0.5)  # screen -> "full" here is the middle rung
    middle = first[first["rung"] == "full"].assign(rung="mid")
    reached = set(middle["set"])
    rows = first[first["rung"] == "screen"]
    up = promote(Promote(top=0.5), {s: mid[s] for s in reached})
    extra = audit(Audit(), [s for s in reached if s not in up], "mid")
    top = pd.DataFrame([{"set": s, "rung": "full", "objective": full[s],
                         "test": full[s] + 1.0, "audited": s in extra} for s in up + extra])
    report = audit_ladder(pd.concat([rows, middle, top]), ["screen", "mid", "full"])
    assert [(p.low, p.high) for p in report.pairs] == [("screen", "mid"), ("mid", "full")]
    assert report.pairs[1].passed_over == len(reached) - len(up)
    each = [p.screened_out for p in report.pairs]
    assert report.screened_out == pytest.approx(1 - (1 - each[0]) * (1 - each[1]))
