"""The report's statistics on simulated results tables whose truth is known
(tests/simtables.py): the count effect adjusted for data, honest intervals, peaks, task
values from chains."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import run_cli
from scipy import stats as scipy_stats
from simtables import POOL, simulate

from sweeper.report.compute import analyse, tier_frame
from sweeper.report.stats import count_effect, mean_interval, peak


def _frame(table, tier="all"):
    trials, _ = tier_frame(table[table["split"] == "test"].assign(
        role="trial", comparable=True, chain=table.get("chain", "")), tier)
    return trials[trials["status"] == "finished"]


def _effect(table, covariates=("distinct_examples", "examples_seen"), **kw):
    return count_effect(_frame(table), covariates=list(covariates), boot=False, **kw)


def test_a_curve_made_by_data_alone_is_not_a_count_effect(tmp_path):
    """Gain driven only by distinct examples, which grow with k: the naive curve rises,
    the adjusted count effect's interval covers 0 (through the command line)."""
    table = simulate(1, design="subsets", slope=0.0, data=2.0)
    path = tmp_path / "sim.parquet"
    table.to_parquet(path)
    done = run_cli("report", "--results", str(path), "--json")
    assert done.returncode == 0, done.stderr
    analysis = json.loads(done.stdout)
    adjusted = analysis["count_effect"]["xnli"]["low"]["non_english"]
    assert set(adjusted) >= {"estimate", "low", "high", "adjusted_for"}
    assert "distinct_examples" in adjusted["adjusted_for"]
    assert adjusted["low"] < 0 < adjusted["high"]
    naive = analysis["targets"]["xnli"]["effects"]["low"]["non_english"]["naive"]
    assert naive["low"] > 0 and naive["adjusted_for"] == []


def test_a_true_count_effect_is_recovered():
    table = simulate(2, design="arms", slope=3.0, data=1.0)
    effect = _effect(table)
    assert effect.low < 3.0 < effect.high and effect.low > 0
    assert effect.adjusted_for == ["distinct_examples"]
    assert "examples_seen" in effect.held_fixed  # two passes: seen moves with distinct


@pytest.mark.slow  # 200 sweeps / a few whole analyses: seconds each
def test_the_interval_covers_the_truth_in_nine_of_ten_sweeps():
    hits = 0
    for i in range(200):
        effect = _effect(simulate(1000 + i, design="arms", slope=1.0, data=1.0, seeds=3,
                                  draws=2, counts=(1, 2, 4, 8)))
        hits += effect.low is not None and effect.low <= 1.0 <= effect.high
    assert hits >= 180, hits


def test_a_design_that_cannot_separate_count_and_data_says_so():
    effect = _effect(simulate(3, design="fixed_per_task", slope=1.0))
    assert effect.estimate is None and "cannot separate" in effect.note


def test_fixed_total_data_holds_the_covariates_fixed():
    effect = _effect(simulate(4, design="fixed_total", slope=2.0))
    assert effect.adjusted_for == [] and set(effect.held_fixed) == {"distinct_examples",
                                                                      "examples_seen"}
    assert effect.low < 2.0 < effect.high


def test_no_interval_from_too_few_units_or_counts_and_never_zero_width():
    rng = np.random.default_rng(0)
    few = _effect(simulate(5, seeds=1, draws=1, counts=(1, 2)))
    assert few.estimate is None and "3 or more" in few.note
    flat = simulate(6, noise=0.0, seed_sd=0.0, slope=1.0, design="fixed_total")
    assert _effect(flat).estimate is None and "zero-width" in _effect(flat).note
    two = _frame(simulate(7, seeds=1, draws=2, counts=(1,)))
    assert mean_interval(two, rng)[1:] == (None, None)


@pytest.mark.slow  # 200 sweeps / a few whole analyses: seconds each
def test_a_peak_is_placed_with_its_interval_only_where_the_curve_turns_down():
    def hump(k):  # rises to k = 4, then falls (vertex of a quadratic in log(1 + k))
        x = math.log1p(k)
        return -3.0 * (x - math.log1p(4)) ** 2

    def found(table):
        return peak(_frame(table), covariates=["distinct_examples", "examples_seen"],
                    effects=("seed",), rng=np.random.default_rng(0))

    peaks = [found(simulate(20 + i, design="fixed_total", curve=hump, counts=(1, 2, 4, 8, 12),
                            draws=4, noise=0.3)) for i in range(10)]
    assert all(p["k"] is not None for p in peaks)
    assert sum(p["low"] <= 4 <= p["high"] for p in peaks) >= 9, peaks
    rising = simulate(9, design="fixed_total", slope=2.0, counts=(1, 2, 4, 8, 12))
    shown = analyse(rising)["targets"]["xnli"]["effects"]["all"]["non_english"]["peak"]
    assert shown["k"] is None and "no turn-down" in shown["note"]


@pytest.mark.slow  # 200 sweeps / a few whole analyses: seconds each
def test_chain_values_recover_additive_task_effects():
    truth = {t: (i - 5) * 0.5 for i, t in enumerate(POOL)}
    table = simulate(10, design="chains", effects=truth, chains=12, length=6, noise=0.5,
                     seed_sd=0.3)
    found = analyse(table)["targets"]["xnli"]["chains"]["all"]
    values = found["values"]
    covered = [v["low"] <= truth[v["task"]] <= v["high"] for v in values if v["low"] is not None]
    assert len(covered) >= 10 and sum(covered) >= 0.9 * len(covered)
    rho = scipy_stats.spearmanr([v["value"] for v in values],
                                [truth[v["task"]] for v in values]).statistic
    assert rho > 0.9
    assert found["ranked_on"] == "english_dev"  # ranked on DEV values, TEST beside
    assert [p["k"] for p in found["profile"]] == list(range(1, 7))
    effect = found["count_effect"]["adjusted"]
    assert effect["units"] == 36 and effect["low"] is not None


def test_stopped_trials_are_counted_at_their_point():
    table = simulate(11, status_of=lambda k, n: "stopped" if k == 8 and n % 2 else "finished")
    points = analyse(table)["targets"]["xnli"]["curves"]["all"]["non_english"]
    eight = next(p for p in points if p["k"] == 8)
    assert eight["stopped"] > 0 and eight["trials"] + eight["stopped"] == 9


@pytest.mark.parametrize("missing", ["examples_seen", "distinct_examples"])
def test_a_table_without_data_columns_is_analysed_without_that_adjustment(missing):
    table = simulate(12, design="arms", slope=1.0)
    table[missing] = None
    analysis = analyse(table)
    effect = analysis["count_effect"]["xnli"]["all"]["non_english"]
    assert missing not in effect["adjusted_for"] and "column is empty" in effect["note"]
    assert any("not adjusted" in n for n in analysis["notes"])
