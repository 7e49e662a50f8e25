"""A space file's `fidelity:` block through `sweeper validate`: a sound ladder reaches the
spec; bad ladders end with one line naming the culprit and exit 2."""

from __future__ import annotations

import pytest
import yaml
from conftest import run_cli

from sweeper.space.fidelity import Promote
from sweeper.space.spec import load_spec

SPACE = {"name": "ladder", "model": "tiny", "data": "sample", "targets": ["xnli"],
         "intermediate": {"pool": ["mnli", "sst2", "qqp"], "counts": [0, 1, 2],
                          "budget": {"examples_total": 800, "epochs": 1}},
         "search": {"algorithm": "grid"}}
SCREEN = {"name": "screen", "model": "tiny", "budget_share": 0.25, "promote": {"top": 0.5}}
FULL = {"name": "full", "model": "small"}


def _file(tmp_path, rungs=None, audit=None, **space):
    block = {"rungs": rungs or [SCREEN, FULL]}
    if audit is not None:
        block["audit"] = audit
    path = tmp_path / "ladder.yaml"
    path.write_text(yaml.safe_dump({**SPACE, **space, "fidelity": block}))
    return path


def test_a_sound_ladder_validates_and_reaches_the_spec(tmp_path, catalog):
    path = _file(tmp_path, rungs=[{**SCREEN, "languages": "en"}, FULL], audit={"share": 0.2})
    done = run_cli("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "fidelity" not in done.stderr  # sweeps run its rungs: nothing to warn about
    ladder = load_spec(path, catalog).fidelity
    assert [r.name for r in ladder.rungs] == ["screen", "full"]
    assert ladder.rungs[0].languages == ("en",) and ladder.rungs[0].promote == Promote(top=0.5)
    assert ladder.full.model == "small" and ladder.full.budget_share == 1.0
    assert ladder.audit.share == 0.2 and ladder.audit.min == 3


def test_a_rung_takes_the_space_encoder_where_it_names_none(tmp_path, catalog):
    path = _file(tmp_path, rungs=[{**SCREEN, "model": None}, {"name": "full"}],
                 model="tiny")
    ladder = load_spec(path, catalog).fidelity
    assert [r.model for r in ladder.rungs] == ["tiny", "tiny"]


@pytest.mark.parametrize("rungs, audit, words", [
    ([{**SCREEN, "model": "small"}, {**FULL, "model": "tiny"}], None,
     "rung 'screen' is not cheaper than 'full': its encoder small is larger than tiny"),
    ([{**SCREEN, "budget_share": 0.5}, {**FULL, "model": "tiny", "budget_share": 0.25}], None,
     "budget_share 0.5 is above 0.25"),
    ([{**SCREEN, "promote": {"top": 0}}, FULL], None, "top: must be a share in (0, 1]"),
    ([{**SCREEN, "promote": {"top": 1.5}}, FULL], None, "top: must be a share in (0, 1]"),
    ([{**SCREEN, "budget_share": 0}, FULL], None, "budget_share: must be a share in (0, 1]"),
    ([SCREEN, FULL], {"share": 0.1, "min": 2}, "an audit needs 3 sets or more"),
    ([SCREEN, FULL], {"share": 1.5}, "audit.share: must be a share in (0, 1]"),
    ([{**SCREEN, "targets": ["pawsx"]}, FULL], None,
     "a rung changes only model, budget_share, languages and target_epochs, not targets"),
    ([{**SCREEN, "lr": 0.1}, FULL], None, "not lr"),
    ([SCREEN], None, "fidelity.rungs"),
    ([{**SCREEN, "promote": {"top": 0.5, "within_interval": True}}, FULL], None,
     "give top: <share> or within_interval: true"),
    ([{**SCREEN, "promote": None}, FULL], None, "rung 'screen': needs a promote rule"),
    ([SCREEN, {**FULL, "promote": {"top": 0.5}}], None, "the last rung is full fidelity"),
    ([{**SCREEN, "languages": ["sw"]}, FULL], None,
     "rung 'screen': its languages leave the objective no dev numbers"),
    ([{**SCREEN, "languages": ["xx"]}, FULL], None, "unknown language or language group 'xx'"),
    ([{**SCREEN, "name": "full"}, FULL], None, "rung names repeat"),
    ([{**SCREEN, "target_epochs": 50}, FULL], None,
     "rung 'screen' is not cheaper than 'full': 50 target epochs of xnli against"),
])
def test_a_bad_ladder_ends_in_one_line_and_exit_2(tmp_path, rungs, audit, words):
    done = run_cli("validate", str(_file(tmp_path, rungs=rungs, audit=audit)))
    assert done.returncode == 2, done.stdout
    assert words in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_rung_languages_stay_among_the_space_ones(tmp_path):
    path = _file(tmp_path, rungs=[{**SCREEN, "languages": ["en", "de"]}, FULL],
                 eval_languages=["en", "fr"])
    done = run_cli("validate", str(path))
    assert done.returncode == 2 and "evaluates de, outside the space's" in done.stderr
