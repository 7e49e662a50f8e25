"""The ladder's rules: promotion (top share, within an interval, min and max), the seeded
audit, what a rung changes in a trial's settings, and which ladders are refused."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from sweeper.errors import ConfigError
from sweeper.space.fidelity import (
    Audit,
    Ladder,
    Promote,
    Rung,
    at_rung,
    audit,
    audit_count,
    changes,
    check_ladder,
    encoder_size,
    promote,
    promote_count,
)
from sweeper.trial.settings import TrialSettings

SCORES = {f"s{i:02d}": float(i) for i in range(20)}  # s19 best under max


def test_top_share_promotes_the_best_by_the_dev_objective():
    assert promote(Promote(top=0.25), SCORES) == ["s19", "s18", "s17", "s16", "s15"]
    assert promote(Promote(top=0.1), SCORES, mode="min") == ["s00", "s01"]
    assert promote_count(Promote(top=0.1), 30) == 3  # 0.1 x 30 is 3, not 4


def test_min_and_max_bound_what_a_share_promotes():
    assert promote(Promote(top=0.05, min=3), SCORES) == ["s19", "s18", "s17"]
    assert len(promote(Promote(top=1.0, max=4), SCORES)) == 4
    assert promote(Promote(top=0.5, min=5), {"a": 1.0, "b": 2.0}) == ["b", "a"]  # all there is


def test_ties_break_by_name_whatever_the_order_given():
    tied = {"b": 1.0, "a": 1.0, "c": 0.0}
    assert promote(Promote(top=0.3), tied) == ["a"]
    assert promote(Promote(top=0.3), dict(reversed(list(tied.items())))) == ["a"]


def test_within_interval_promotes_every_set_overlapping_the_best():
    scores = {"best": 70.0, "close": 69.0, "far": 60.0, "wide": 64.0}
    spans = {"best": (68.5, 71.5), "close": (67.0, 71.0), "far": (59.0, 61.0),
             "wide": (58.0, 69.0)}
    assert promote(Promote(within_interval=True), scores, intervals=spans) == \
        ["best", "close", "wide"]
    assert promote(Promote(within_interval=True, max=2), scores, intervals=spans) == \
        ["best", "close"]
    # without intervals a set is its point: only the best, then `min` fills up
    assert promote(Promote(within_interval=True, min=2), scores) == ["best", "close"]
    # overlap decides, not the point: a narrow runner-up stays, a wide lower set goes up
    narrow = {"best": 70.0, "narrow": 68.0, "wide": 66.0}
    bounds = {"best": (69.5, 70.5), "narrow": (67.5, 68.5), "wide": (60.0, 72.0)}
    assert promote(Promote(within_interval=True), narrow, intervals=bounds) == ["best", "wide"]
    assert promote(Promote(within_interval=True, min=3), narrow, intervals=bounds) == \
        ["best", "narrow", "wide"]
    low = {"best": (59.0, 61.0), "far": (65.0, 70.0)}
    assert promote(Promote(within_interval=True), {"best": 60.0, "far": 67.0}, mode="min",
                   intervals=low) == ["best"]


def test_the_audit_is_seeded_sized_and_independent_of_order():
    passed = [f"s{i:02d}" for i in range(15)]
    picked = audit(Audit(share=0.1, min=3), passed, "screen")
    assert len(picked) == 3 and set(picked) <= set(passed)
    assert picked == audit(Audit(share=0.1, min=3), list(reversed(passed)), "screen")
    assert picked != audit(Audit(share=0.1, min=3), passed, "screen", seed=1) or \
        picked != audit(Audit(share=0.1, min=3), passed, "other")
    assert audit_count(Audit(share=0.5, min=3), 15) == 8
    assert audit(Audit(share=0.1, min=3), ["a", "b"], "screen") == ["a", "b"]  # all there is


def _ladder(**screen) -> Ladder:
    low = {"name": "screen", "model": "tiny", "budget_share": 0.25, "promote": Promote(top=0.5)}
    return Ladder((Rung(**{**low, **screen}), Rung(name="full", model="small")))


def test_a_rung_changes_only_its_own_settings():
    base = TrialSettings.build(targets=["xnli"], model="small", intermediate=["mnli"],
                               examples_total=800, intermediate_epochs=2, lr=1e-3)
    rung = Rung("screen", "tiny", 0.25, ("en", "sw"), 1.0, Promote(top=0.5))
    assert changes(rung, base) == {"model": "tiny", "eval_languages": ["en", "sw"],
                                   "target_epochs": 1.0, "examples_total": 200}
    moved = at_rung(rung, base)
    assert moved.intermediate.epochs == 2 and moved.training.lr == 1e-3
    assert moved.targets == ["xnli"] and moved.tasks == ["mnli"]
    steps = base.replace(examples_total=None, intermediate_steps=100)
    assert changes(rung, steps)["intermediate_steps"] == 25
    plain = base.replace(examples_total=None)
    assert changes(rung, plain)["intermediate_epochs"] == 0.5
    full = Rung("full", "small")
    assert at_rung(full, base) == base


def test_encoders_are_ordered_by_size():
    sizes = [encoder_size(m) for m in ("tiny", "small", "xlm-roberta-base", "xlm-roberta-large")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert 80e6 < sizes[2] < 90e6 and 300e6 < sizes[3] < 305e6  # XLM-R without embeddings
    assert encoder_size("my/encoder") is None


def test_a_sound_ladder_passes():
    check_ladder(_ladder())
    check_ladder(_ladder(model="small", languages=("en",)))


@pytest.mark.parametrize("screen, words", [
    ({"model": "xlm-roberta-large"}, "encoder xlm-roberta-large is larger than small"),
    ({"budget_share": 1.0, "model": "small"}, "exactly what the next rung runs"),
    ({"model": "some/encoder"}, "cannot order encoder 'some/encoder'"),
    ({"promote": None}, "needs a promote rule"),
])
def test_a_rung_larger_than_the_next_is_refused(screen, words):
    with pytest.raises(ConfigError, match=words):
        check_ladder(_ladder(**screen))


def test_a_decreasing_budget_share_or_epochs_or_more_languages_are_refused():
    up = Rung("full", "small", budget_share=0.5, languages=("en",), target_epochs=1.0)
    for screen, words in (({"budget_share": 0.75}, "budget_share 0.75 is above 0.5"),
                          ({"target_epochs": 2.0}, "target_epochs 2 are above 1"),
                          ({"languages": ("en", "sw")}, "evaluates sw")):
        rung = Rung(**{"name": "screen", "model": "tiny", "budget_share": 0.25,
                       "promote": Promote(top=0.5), **screen})
        with pytest.raises(ConfigError, match=words):
            check_ladder(Ladder((rung, up)))
    with pytest.raises(ConfigError, match="promotes nowhere"):
        check_ladder(Ladder((_ladder().rungs[0], Rung("full", "small", promote=Promote(top=1)))))


def test_the_ladder_modules_load_no_torch_ray_or_mlflow():
    code = ("import sys; import sweeper.space.fidelity, sweeper.space.fidelity_schema, "
            "sweeper.space.fidelity_cost; "
            "heavy = [m for m in ('torch', 'ray', 'mlflow', 'transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
