"""The report's task and trial sections, pure functions of the results table: which tasks
helped (a simulated truth recovered) and the trial each protocol picks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simtables import simulate

from report.rows import _rows, _table
from sweeper.report import sections


def test_the_task_that_helps_is_ranked_first_on_dev_with_test_beside():
    table = simulate(7, design="subsets", effects={"t5": 4.0}, counts=(1, 2, 4), draws=4,
                     noise=0.3).assign(role="trial", comparable=True)
    helped = sections.helped(table, "english_dev", np.random.default_rng(0))
    assert helped["ranked_on"] == "english_dev" and helped["note"] is None
    best = helped["tasks"][0]
    assert best["task"] == "t5" and best["low"] > 0 and best["test"] > 2
    assert {"dev", "target_dev", "test", "with", "without"} <= set(best)
    oracle = sections.helped(table, "target_dev", np.random.default_rng(0))
    assert oracle["ranked_on"] == "target_dev" and "english_dev" in oracle["tasks"][0]


def test_no_english_dev_set_means_no_ranking():
    table = _table(_rows("a", tasks="mnli", k=1), _rows("b", tasks="qqp", k=1))
    table = table[table["language"] != "en"]
    helped = sections.helped(table, "english_dev", np.random.default_rng(0))
    assert helped["ranked_on"] is None and "no English dev set" in helped["note"]
    assert [h["task"] for h in helped["tasks"]] == ["mnli", "qqp"]  # by name
    none = sections.helped(table.assign(status="failed"), "english_dev",
                           np.random.default_rng(0))
    assert none == {"ranked_on": None, "tasks": [], "note": "no finished zero-shot trials"}


def test_task_effects_compare_sets_of_one_size():
    trials = pd.DataFrame({"k": [1, 1, 1, 2, 2], "gain": [3.0, 1.0, 2.0, 5.0, 4.0],
                           "tasks": ["a", "b", "c", "a,b", "b,c"]})
    effect, with_, without = sections.TaskEffects(trials, ["a", "b", "c"]).effect("gain")
    # a: size 1: 3 - mean(1, 2) = 1.5 (1 set with it); size 2: 5 - 4 = 1 (1 set)
    assert effect == pytest.approx([1.25, (1 * -1.5 + 0) / 1, (1 * 0.0 + 1 * -1.0) / 2])
    assert list(with_) == [2, 1, 2] and list(without) == [3, 2, 3]


def test_each_protocol_picks_its_trial_by_dev_and_shows_its_test():
    table = _table(_rows("a", tasks="mnli", k=1, scores=(70.0, 40.0, 41.0)),
                   _rows("b", tasks="qqp", k=1, scores=(60.0, 55.0, 52.0), gains=(0, 0, 4.0)))
    picked = sections.selected(table)
    assert picked["english_dev"]["trial_id"] == "a" and picked["english_dev"]["test"] == 41.0
    assert picked["target_dev"] == {"trial_id": "b", "tasks": "qqp", "k": 1, "dev": 55.0,
                                    "test": 52.0, "test_low": 52.0, "test_gain": 4.0}
    only_test = table[table["split"] == "test"]
    assert sections.selected(only_test)["english_dev"] == {
        "note": "no dev numbers for this protocol"}
    assert sections.selected(table.assign(protocol="translate_train")) == {}
