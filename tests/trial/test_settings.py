"""Trial settings: typed groups, one reader per value (`--set`, YAML), checked ranges."""

from __future__ import annotations

import dataclasses

import pytest

from sweeper.errors import ConfigError
from sweeper.trial.checks import check_settings
from sweeper.trial.reading import apply_overrides, settings_from_dict
from sweeper.trial.settings import SETTINGS, TrialSettings


def test_overrides_are_read_as_the_setting_s_type_and_checked(catalog):
    config = apply_overrides(TrialSettings.build(targets=["xnli"]),
                             ["lr=2e-5", "eval_languages=en,sw", "max_seq_len=null",
                              "local_data=ccg=/data/ccg,mnli=/data"])
    assert config.training.lr == 2e-5 and config.evaluation.languages == ["en", "sw"]
    assert config.common.local_data == {"ccg": "/data/ccg", "mnli": "/data"}
    assert config.training.max_seq_len is None
    for bad, message in [(["colour=red"], "unknown setting"), (["lr=abc"], "cannot read"),
                         (["batch_size=1.5"], "cannot read"), (["lr"], "key=value"),
                         (["local_data=ccg"], "cannot read"), (["lr=2"], "lr must be <= 1"),
                         (["sampling=zigzag"], "not one of")]:
        with pytest.raises(ConfigError, match=message):
            apply_overrides(config, bad)


def test_validation_names_the_first_bad_setting(catalog):
    with pytest.raises(ConfigError, match="repeat"):
        check_settings(TrialSettings.build(targets=["xnli"], intermediate=["mnli", "mnli"]),
                       catalog)
    with pytest.raises(ConfigError, match="not an intermediate"):
        check_settings(TrialSettings.build(targets=["xnli"], intermediate=["pawsx"]), catalog)
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        check_settings(TrialSettings.build(targets=["xnli"], local_data={"nope": "/x"}), catalog)
    with pytest.raises(ConfigError, match="at least one target"):
        check_settings(TrialSettings.build(), catalog)


def test_groups_are_frozen_and_round_trip_through_trial_config():
    settings = TrialSettings.build(targets=["xnli"], intermediate=["mnli"], lr=1e-4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.training.lr = 1.0  # type: ignore[misc]
    assert settings_from_dict(settings.to_dict()) == settings


def test_every_setting_has_help_and_one_flat_name():
    assert all(s.doc for s in SETTINGS.values())
    assert len({s.name for s in SETTINGS.values()}) == len(SETTINGS)
