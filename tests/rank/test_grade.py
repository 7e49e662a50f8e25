"""A ranking graded against what a sweep measured: rank correlation, regret and NDCG with
their intervals, within one budget arm."""

from __future__ import annotations

import pandas as pd
import pytest


def _measured_table(seeds: int):
    import numpy as np
    import pandas as pd

    truth = {"a": 3.0, "b": 2.0, "c": 1.0, "d": -1.0}
    rng = np.random.default_rng(0)
    rows = [{"target": "xnli", "language": lang, "split": split, "k": 1, "tasks": task,
             "seed": seed, "status": "finished",
             "gain": value + float(rng.normal(0, 1.2))}
            for task, value in truth.items() for seed in range(seeds)
            for lang in ("sw", "ur") for split in ("dev", "test")]
    rows.append({**rows[0], "k": 2, "tasks": "a,b", "gain": 9.0})  # not trained alone
    return pd.DataFrame(rows)


def _ranking(order: list[str]) -> dict:
    n = len(order)
    return {"targets": {"xnli": {"languages": ["sw", "ur"], "rows": [
        {"task": t, "score": float(n - i), "signals": {"language": float(n - i),
                                                       "type": float(i), "embedding": 1.0}}
        for i, t in enumerate(order)]}}}


def test_the_ranking_is_graded_against_what_the_sweep_measured():
    from sweeper.rank.grade import grade

    graded = grade(_ranking(["a", "b", "c", "d"]), _measured_table(seeds=3))
    dev = graded["targets"]["xnli"]["dev"]
    assert dev["tasks"] == 4
    combined = dev["combined"]
    assert combined["spearman"]["estimate"] == pytest.approx(1.0)
    assert combined["regret@3"]["estimate"] == 0.0 and combined["ndcg@3"]["estimate"] == 1.0
    assert combined["spearman"]["low"] is not None and combined["spearman"]["low"] < 1.0
    assert dev["type"]["spearman"]["estimate"] == pytest.approx(-1.0)  # reversed signal
    assert dev["embedding"]["spearman"]["estimate"] != dev["embedding"]["spearman"]["estimate"]
    wrong = grade(_ranking(["d", "c", "b", "a"]), _measured_table(seeds=3))
    assert wrong["targets"]["xnli"]["test"]["combined"]["regret@3"]["estimate"] > 0
    few = grade(_ranking(["a", "b", "c", "d"]), _measured_table(seeds=2))
    assert "fewer than 3 seeds" in few["targets"]["xnli"]["dev"]["combined"]["note"]
    assert few["targets"]["xnli"]["dev"]["combined"]["spearman"]["low"] is None
    alone = grade(_ranking(["a", "b"]), _measured_table(seeds=3))
    assert "fewer than 3" in alone["targets"]["xnli"]["dev"]["note"]


def test_a_ranking_is_graded_within_one_budget_arm():
    """Single-task trials of two budget arms are not pooled: the arm with most of them."""
    from sweeper.rank.grade import measured

    table = _measured_table(seeds=3)
    table["budget"] = "big"
    small = table[table["tasks"] == "a"].assign(budget="small", gain=-50.0)
    found = measured(pd.concat([table, small]), "xnli", ["sw", "ur"], "dev")
    assert found["a"] == measured(table, "xnli", ["sw", "ur"], "dev")["a"]
