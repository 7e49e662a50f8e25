"""The report's listings, pure functions of the results table: what is kept apart, the
licences, trial counts, protocols and caveats."""

from __future__ import annotations

from report.rows import _rows, _table
from sweeper.report import listings


def test_results_not_zero_shot_or_not_comparable_are_kept_apart(catalog):
    table = _table(_rows("a", tasks="xnli_de", k=1, protocol="translate_train"),
                   _rows("b", tasks="mnli", k=1, comparable=False, target="bucc2018"),
                   _rows("c", tasks="mnli", k=1),
                   _rows("base", tasks="", k=0, role="baseline", protocol="translate_train"))
    (apart,) = listings.apart(table)
    assert apart == {"target": "xnli", "protocol": "translate_train", "trials": 1,
                     "languages": ["sw"], "mean_gain": 3.0, "low": None, "high": None}
    (odd,) = listings.not_comparable(table)
    assert odd["target"] == "bucc2018" and "gold-pair-only" in odd["why"]
    licences = {x["task"]: x for x in listings.licences(table, catalog)}
    assert set(licences) == {"xnli_de", "mnli", "xnli", "bucc2018"}
    assert licences["xnli"]["non_commercial"] and not licences["mnli"]["non_commercial"]
    assert listings.licences(table, None)[0]["license"] == "not in the catalog"


def test_trial_counts_protocols_and_caveats():
    table = _table(_rows("a", tasks="mnli", k=1), _rows("b", tasks="qqp", k=1, status="running"),
                   _rows("c", tasks="sst2", k=1, status="stopped"),
                   _rows("d", tasks="anli", k=1, status="failed"),
                   _rows("e", tasks="qqp,sst2", k=2, distinct=None),
                   _rows("f", tasks="mnli,qqp", k=2, gains=(None, None, None)),
                   _rows("base", tasks="", k=0, role="baseline", status="running"))
    assert listings.trial_counts(table) == {"finished": 3, "stopped": 1, "failed": 1,
                                            "running": 1}
    named = listings.protocols(table, "target_dev")
    assert named["selection"] == "target_dev (the oracle: target-language dev sets)"
    assert (named["data_source"], named["model"], named["budget"]) == (
        ["hub"], ["xlm-roberta-base"], [])
    notes = listings.notes(table)
    assert notes[0].startswith("The sweep is still running: 1 trial(s) running")
    assert notes[1].startswith("1 trial(s) stopped by a scheduler and 1 failed")
    assert notes[2].startswith("One seed:")
    assert notes[3].startswith("1 trial(s) have no examples_seen or distinct_examples")
    assert notes[4].startswith("1 trial(s) have no baseline with the same baseline key")
    assert listings.notes(table[table["trial_id"] == "a"].assign(seed=[0, 1, 2])) == []
