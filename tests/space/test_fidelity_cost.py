"""What a ladder costs against the full grid: planned trials per rung (promoted and
audited), trainings, examples, and compute scaled by the encoder's size."""

from __future__ import annotations

import pytest

from sweeper.space.fidelity import Audit, Ladder, Promote, Rung, encoder_size
from sweeper.space.fidelity_cost import Work, cost_share, ladder_cost, planned_trials

LADDER = Ladder((Rung("screen", "xlm-roberta-base", 0.25, promote=Promote(top=0.1)),
                 Rung("full", "xlm-roberta-large")), Audit(share=0.1, min=3))


def test_planned_trials_are_the_promoted_and_the_audited():
    # 100 sets: 10 promoted, then max(3, 10% of 90) = 9 audited
    assert planned_trials(LADDER, 100) == [(100, False), (19, False)]
    three = Ladder((LADDER.rungs[0], Rung("mid", "xlm-roberta-base", 0.5,
                                          promote=Promote(within_interval=True, max=5)),
                    LADDER.rungs[1]))
    assert planned_trials(three, 100) == [(100, False), (19, False), (8, True)]


def test_each_rung_and_the_full_grid_cost_what_their_trials_do():
    per_trial = [Work(trainings=2, examples=250.0), Work(trainings=2, examples=1000.0)]
    rungs, full = ladder_cost(LADDER, 100, per_trial)
    assert [(r.name, r.trials) for r in rungs] == [("screen", 100), ("full", 19)]
    assert rungs[0].work.trainings == 200 and rungs[1].work.examples == 19_000
    assert full == Work(100, 200, 100_000, 100_000 * encoder_size("xlm-roberta-large"))
    base, large = encoder_size("xlm-roberta-base"), encoder_size("xlm-roberta-large")
    expected = (100 * 250 * base + 19 * 1000 * large) / (100 * 1000 * large)
    assert cost_share(rungs, full) == pytest.approx(expected)
    assert 0.2 < cost_share(rungs, full) < 0.3
    with pytest.raises(ValueError):
        ladder_cost(LADDER, 100, per_trial[:1])
