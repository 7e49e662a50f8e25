"""The report's other sections, pure functions of the results table: which tasks helped
(a simulated truth recovered), the trial each protocol picks, what is kept apart, the
licences, trial counts and caveats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simtables import simulate

from sweeper.report import sections


def _rows(trial: str, *, tasks: str, k: int, seed: int = 0, status: str = "finished",
          role: str = "trial", protocol: str = "zero_shot", comparable: bool = True,
          gains=(1.0, 2.0, 3.0), scores=(60.0, 50.0, 40.0), distinct: float | None = 100.0,
          target: str = "xnli") -> list[dict]:
    """A trial's rows: English dev, Swahili dev and Swahili test."""
    cells = [("en", "high", "dev"), ("sw", "low", "dev"), ("sw", "low", "test")]
    return [{"trial_id": trial, "tasks": tasks, "k": k, "seed": seed, "status": status,
             "role": role, "protocol": protocol, "comparable": comparable, "chain": "",
             "target": target, "language": lang, "tier": tier, "split": split,
             "gain": gain, "score": score, "examples_seen": distinct,
             "distinct_examples": distinct, "data_source": "hub", "model": "xlm-roberta-base",
             "retrieval_protocol": "", "budget": "(none)"}
            for (lang, tier, split), gain, score in zip(cells, gains, scores)]


def _table(*trials: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for trial in trials for row in trial])


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


def test_results_not_zero_shot_or_not_comparable_are_kept_apart(catalog):
    table = _table(_rows("a", tasks="xnli_de", k=1, protocol="translate_train"),
                   _rows("b", tasks="mnli", k=1, comparable=False, target="bucc2018"),
                   _rows("c", tasks="mnli", k=1),
                   _rows("base", tasks="", k=0, role="baseline", protocol="translate_train"))
    (apart,) = sections.apart(table)
    assert apart == {"target": "xnli", "protocol": "translate_train", "trials": 1,
                     "languages": ["sw"], "mean_gain": 3.0, "low": None, "high": None}
    (odd,) = sections.not_comparable(table)
    assert odd["target"] == "bucc2018" and "gold-pair-only" in odd["why"]
    licences = {x["task"]: x for x in sections.licences(table, catalog)}
    assert set(licences) == {"xnli_de", "mnli", "xnli", "bucc2018"}
    assert licences["xnli"]["non_commercial"] and not licences["mnli"]["non_commercial"]
    assert sections.licences(table, None)[0]["license"] == "not in the catalog"


def test_trial_counts_protocols_and_caveats():
    table = _table(_rows("a", tasks="mnli", k=1), _rows("b", tasks="qqp", k=1, status="running"),
                   _rows("c", tasks="sst2", k=1, status="stopped"),
                   _rows("d", tasks="anli", k=1, status="failed"),
                   _rows("e", tasks="qqp,sst2", k=2, distinct=None),
                   _rows("f", tasks="mnli,qqp", k=2, gains=(None, None, None)),
                   _rows("base", tasks="", k=0, role="baseline", status="running"))
    assert sections.trial_counts(table) == {"finished": 3, "stopped": 1, "failed": 1,
                                            "running": 1}
    named = sections.protocols(table, "target_dev")
    assert named["selection"] == "target_dev (the oracle: target-language dev sets)"
    assert (named["data_source"], named["model"], named["budget"]) == (
        ["hub"], ["xlm-roberta-base"], [])
    notes = sections.notes(table)
    assert notes[0].startswith("The sweep is still running: 1 trial(s) running")
    assert notes[1].startswith("1 trial(s) stopped by a scheduler and 1 failed")
    assert notes[2].startswith("One seed:")
    assert notes[3].startswith("1 trial(s) have no examples_seen or distinct_examples")
    assert notes[4].startswith("1 trial(s) have no baseline with the same baseline key")
    assert sections.notes(table[table["trial_id"] == "a"].assign(seed=[0, 1, 2])) == []
