"""`sweeper rank`: cheap signals, no training, on the sample data and the tiny model."""

from __future__ import annotations

import dataclasses
import json

import pytest
from test_bad_input import assert_one_line, cli

from sweeper.rank.ranking import rank


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
    from sweeper.search import searchers

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
