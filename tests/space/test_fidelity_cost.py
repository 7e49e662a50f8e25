"""What a ladder costs against the full grid: planned trials per rung (promoted and
audited), trainings, examples, and compute scaled by the encoder's size; printed by
`sweeper validate --list`."""

from __future__ import annotations

import math
import re

import pytest
import yaml
from conftest import run_cli

from sweeper.space.fidelity import Audit, Ladder, Promote, Rung, encoder_size
from sweeper.space.fidelity_cost import (
    Work,
    cost_share,
    ladder_cost,
    planned_trials,
    trial_work,
)
from sweeper.trial.settings import TrialSettings

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


def test_a_trials_work_on_paper(catalog):
    retrieval = TrialSettings.build(targets=["tatoeba"], model="tiny", intermediate=["mnli", "qqp"],
                                    examples_total=800, intermediate_epochs=2)
    assert trial_work(retrieval, catalog) == Work(trainings=1, examples=1600.0)
    steps = retrieval.replace(examples_total=None, intermediate_steps=10, batch_size=8)
    assert trial_work(steps, catalog).examples == 80.0
    xnli = TrialSettings.build(targets=["xnli"], model="tiny", target_epochs=2)
    mnli = catalog.task("mnli").train_size
    assert trial_work(xnli, catalog) == Work(trainings=1, examples=2.0 * mnli)


def test_validate_list_prints_each_rung_next_to_the_full_grid(tmp_path):
    space = {"name": "ladder", "model": "tiny", "data": "sample", "targets": ["tatoeba"],
             "intermediate": {"pool": ["mnli", "sst2", "qqp", "swahili_news"],
                              "counts": [1, 2, 3], "draws": 4,
                              "budget": {"examples_total": 1200, "epochs": 2}},
             "search": {"algorithm": "grid"},
             "fidelity": {"rungs": [{"name": "screen", "model": "tiny", "budget_share": 0.25,
                                     "promote": {"top": 0.25}},
                                    {"name": "full", "model": "small"}]}}
    path = tmp_path / "ladder.yaml"
    path.write_text(yaml.safe_dump(space))
    done = run_cli("validate", "--list", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    sets = sum(1 for line in lines if "| seed 0" in line)
    screen = next(line for line in lines if line.startswith("  screen: tiny"))
    full = next(line for line in lines if line.startswith("  full: small"))
    grid = next(line for line in lines if line.startswith("  full grid"))
    promoted = math.ceil(0.25 * sets)
    assert f"{sets} trials" in screen and f"{sets} trials" in grid
    assert f"{promoted + 3} trials" in full  # the promoted and an audit of 3
    # every set on tiny with a quarter of the budget, only some on small: below the grid
    share = float(re.search(r"the ladder: ([\d.]+)%", done.stdout).group(1))
    assert 0 < share < 100


def test_the_shipped_task_scaling_space_lists_both_designs_cost():
    """task_scaling.yaml screens on XLM-R Base with a quarter of the data, then Large:
    `validate --list` prints the ladder's cost next to the full grid's."""
    done = run_cli("validate", "--list", "search_spaces/task_scaling.yaml")
    assert done.returncode == 0, done.stderr
    assert "  screen: xlm-roberta-base, budget share 0.25:" in done.stdout
    assert "  full: xlm-roberta-large, budget share 1:" in done.stdout
    assert "  full grid (full for every set): 198 trials" in done.stdout
    share = float(re.search(r"the ladder: ([\d.]+)%", done.stdout).group(1))
    assert 0 < share < 100
