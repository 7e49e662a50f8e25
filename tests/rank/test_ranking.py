"""`sweeper rank`: cheap signals, no training, on the sample data and the tiny model."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from test_bad_input import assert_one_line, cli

from sweeper.rank import uriel
from sweeper.rank.ranking import rank


def test_uriel_distances_from_the_shipped_data():
    """Geographic distances reproduce URIEL's published values; the proxies order
    languages as typology does (German nearer English than Swahili is)."""
    assert uriel.distances("frr", "dan")["geographic"] == pytest.approx(0.0028, abs=3e-4)
    assert uriel.distances("frr", "deu")["geographic"] == pytest.approx(0.0359, abs=3e-4)
    near, far = uriel.distances("eng", "deu"), uriel.distances("eng", "swh")
    assert all(near[k] < far[k] for k in uriel.KINDS)
    assert not uriel.known("xxx")


def test_the_language_signal_recovers_the_sample_s_tier_order(catalog, cache_root):
    """The generator shares vocabulary with English by resource tier: an English task's
    subword overlap with XNLI's text falls from high- to mid- to low-resource languages."""
    overlap = {}
    for tier in ("high", "mid", "low"):
        ranking = rank("xnli", catalog, languages=[tier], pool=["mnli"], model="tiny",
                       data="sample", cache=cache_root)
        assert all(catalog.tier(c) == tier for c in ranking.languages)
        overlap[tier] = ranking.rows[0]["parts"]["overlap"]
    assert overlap["high"] > overlap["mid"] > overlap["low"], overlap


def test_rank_prints_scores_with_their_parts_and_cost(cache_root):
    code, out, _ = cli("rank", "--target", "xnli", "--model", "tiny", "--cache",
                       str(cache_root), "--pool", "mnli,qqp,swahili_news,hausa_voa_topics",
                       "--json")
    assert code == 0
    ranking = json.loads(out)
    assert ranking["languages"] == ["sw", "ur"]  # XNLI's low-resource languages by default
    rows = ranking["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert rows == sorted(rows, key=lambda r: -r["score"])
    assert {"language", "type", "embedding"} == set(rows[0]["signals"])
    news = next(r for r in rows if r["task"] == "swahili_news")
    assert news["parts"]["uriel"] > next(r for r in rows if r["task"] == "mnli")["parts"]["uriel"]
    assert ranking["seconds"]["total"] > 0
    code, out, _ = cli("rank", "--target", "xnli", "--model", "tiny", "--cache",
                       str(cache_root), "--pool", "mnli,qqp")
    assert code == 0 and "ranked 2 tasks in" in out and "uriel" in out


@pytest.mark.parametrize("args, needle", [
    (["--target", "nope"], "unknown task 'nope'"),
    (["--target", "mnli"], "'mnli' is not a target task"),
    (["--target", "xnli", "--languages", "ja"], "none of them is a language of xnli"),
    (["--target", "xnli", "--languages", "xx"], "unknown language"),
    (["--target", "xnli", "--pool", "nope"], "unknown task 'nope'"),
    (["--target", "xnli", "--pool", "xnli"], "'xnli' is not an intermediate task"),
    (["--target", "panx", "--pool", "panx_ar"], "nothing to rank for panx"),
])
def test_bad_rank_input_is_one_line(args, needle, cache_root):
    code, _, err = cli("rank", "--model", "tiny", "--cache", str(cache_root), *args)
    assert_one_line(code, err, needle)


def _spec(tmp_path, catalog, **search):
    import yaml

    from sweeper.space.spec import load_spec

    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({
        "model": "tiny", "data": "sample", "targets": ["xnli"],
        "intermediate": {"pool": ["mnli", "qqp", "swahili_news", "hausa_voa_topics"],
                         "counts": [0, 1, 2]}, "search": search}))
    return load_spec(path, catalog)


SCORES = {"swahili_news": 1.0, "mnli": 0.5, "qqp": -0.2, "hausa_voa_topics": -1.3}


def test_a_rank_prior_starts_optuna_at_the_top_ranked_sets(tmp_path, catalog):
    from sweeper.runner import searchers

    spec = _spec(tmp_path, catalog, algorithm="optuna", num_samples=4, max_concurrent=3,
                 prior="rank")
    spec = dataclasses.replace(spec, ranking=SCORES)
    search, _ = searchers.build(spec, lambda config: None)
    search.set_search_properties("objective", "max", {})
    first = [search.suggest(f"t{i}") for i in range(2)]
    assert [f["tasks"] for f in first] == ["swahili_news", "mnli,swahili_news"]
    assert first[0]["w_swahili_news"] == 1.0 and first[0]["w_hausa_voa_topics"] == 0.0


def test_a_rank_order_runs_a_grid_s_best_predicted_sets_first(tmp_path, catalog):
    from sweeper.space.space import grid

    spec = _spec(tmp_path, catalog, algorithm="grid", order="rank")
    plain = grid(spec)
    spec = dataclasses.replace(spec, ranking=SCORES)
    ranked = grid(spec)
    assert sorted(map(str, plain)) == sorted(map(str, ranked))  # the same points
    assert [p["tasks"] for p in ranked][:3] == ["", "swahili_news", "mnli,swahili_news"]


@pytest.mark.parametrize("search, needle", [
    ({"algorithm": "grid", "prior": "rank"}, "a grid takes search.order: rank"),
    ({"algorithm": "optuna", "order": "rank"}, "a search takes search.prior: rank"),
])
def test_prior_and_order_belong_to_their_algorithms(tmp_path, catalog, search, needle):
    from sweeper.errors import ConfigError

    with pytest.raises(ConfigError, match=needle):
        _spec(tmp_path, catalog, **search)


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
