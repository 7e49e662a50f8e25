"""Model selection under a named protocol: strict zero-shot (English dev) by default, the
oracle (target-language dev) beside it; test numbers never enter."""

from __future__ import annotations

import math

import pytest

from sweeper.space.objective import both, objective
from sweeper.space.spec import parse_spec


def _result(dev: dict[str, float], test: float = 99.0) -> dict:
    return {"protocol": {"xnli": "zero_shot", "tatoeba": "zero_shot"},
            "dev": {"zero_shot": {"xnli": {k: {"accuracy": v} for k, v in dev.items()}}},
            "test": {"zero_shot": {"xnli": {k: {"accuracy": test} for k in dev},
                                   "tatoeba": {"de": {"accuracy": test}}}}}


def test_english_dev_selects_on_english_only_and_the_oracle_on_the_languages():
    result = _result({"en": 80.0, "sw": 40.0, "ur": 30.0})
    scrambled = _result({"en": 80.0, "sw": 0.0, "ur": 100.0}, test=1.0)  # labels scrambled
    low = ["sw", "ur"]
    assert objective(result, low) == objective(scrambled, low) == 80.0
    assert objective(result, low, selection="target_dev") == pytest.approx(35.0)
    assert objective(scrambled, low, selection="target_dev") == pytest.approx(50.0)
    base = _result({"en": 70.0, "sw": 35.0, "ur": 30.0})
    assert both(result, low, metric="gain", baseline=base) == {
        "selection.english_dev": pytest.approx(10.0),
        "selection.target_dev": pytest.approx(2.5)}
    assert math.isnan(objective(_result({"sw": 40.0}), low))  # no English dev: no selection


def test_a_space_says_which_targets_each_protocol_can_see(catalog):
    raw = {"model": "tiny", "targets": ["xnli", "xquad", "tydiqa", "tatoeba", "bucc2018"],
           "intermediate": {"pool": ["mnli"], "counts": [0, 1]},
           "objective": {"languages": "low_resource"}, "search": {"algorithm": "grid"}}
    spec = parse_spec(raw, catalog, "t")
    assert spec.selection == "english_dev"
    inside, outside = spec.objective_targets(catalog)
    assert inside == ["xnli", "xquad"]  # XQuAD: SQuAD's English dev, its articles left out
    assert "no English dev set" in outside["bucc2018"]
    assert "no selection" in outside["tydiqa"] and "no selection" in outside["tatoeba"]
    oracle = parse_spec({**raw, "objective": {"languages": "low_resource",
                                              "selection": "target_dev"}}, catalog, "t")
    assert oracle.objective_targets(catalog)[0] == ["xnli"]  # low-resource dev sets only
