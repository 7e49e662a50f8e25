"""A trial's settings resolved once: every effective value, immutable, serialisable; the
keys, the params and the stages read the same object."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from sweeper.errors import ConfigError
from sweeper.frozen import freeze
from sweeper.trial.keys import trial_keys
from sweeper.trial.params import run_params
from sweeper.trial.resolve import resolve
from sweeper.trial.resolved import Facts, ResolvedTrial
from sweeper.trial.settings import TINY_LR, TrialSettings


@pytest.fixture(scope="module")
def facts(catalog) -> Facts:
    return Facts(model_id="tiny:test", tokenizer="tok", num_layers=2, max_positions=100,
                 data_versions=freeze({t: "v1" for t in catalog.tasks}), device="cpu")


def _resolve(catalog, facts, **values) -> ResolvedTrial:
    base = dict(targets=["xnli", "tatoeba", "xquad"], intermediate=["sst2", "mnli"],
                model="tiny", data="sample")
    return resolve(TrialSettings.build(**{**base, **values}), catalog, facts)


def test_effective_values(catalog, facts):
    r = _resolve(catalog, facts)
    assert r.training.lr == TINY_LR and r.training.precision == "fp32"
    assert r.max_length["xnli"] == 100  # the catalog's 256, clamped to the model
    assert r.retrieval_layer == 1  # layer 14 of 24 at depth 2
    assert set(r.target_epochs) == set(r.target_batch) == {"xnli", "xquad"}  # retrieval: none
    assert r.target_stages["xnli"].startswith("xnli@")  # mnli trains xnli alone
    assert r.target_stages["xquad"].startswith("squad@")  # squad trains xquad and mlqa
    assert r.intermediate.sampling == "proportional" and r.intermediate.temperature is None
    assert r.eval_languages["xquad"] == catalog.task("xquad").languages
    one = _resolve(catalog, facts, intermediate=["sst2"], sampling="temperature")
    assert one.intermediate.sampling is None and one.intermediate.temperature is None
    assert _resolve(catalog, dataclasses.replace(facts, device="cuda")).training.precision == \
        "bf16"
    assert _resolve(catalog, facts, intermediate_steps=10).intermediate.epochs is None
    none = _resolve(catalog, facts, intermediate=[])
    assert dataclasses.astuple(none.intermediate) == ((),) + (None,) * 6
    with pytest.raises(ConfigError, match="retrieval_layer 3 is deeper"):
        _resolve(catalog, facts, retrieval_layer=3)


def test_resolved_trials_are_immutable_and_serialisable(catalog, facts):
    r = _resolve(catalog, facts, local_data={"ccg": "/x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.max_length["xnli"] = 8
    assert pickle.loads(pickle.dumps(r)) == r
    again = ResolvedTrial.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r and trial_keys(again, catalog) == trial_keys(r, catalog)


def test_trials_and_baselines_log_params_by_one_recipe(catalog, facts):
    r = _resolve(catalog, facts, max_seq_len=1024)
    trial, base = run_params(r, catalog), run_params(r.baseline(), catalog)
    assert set(trial) - set(base) == {"max_seq_len.sst2"}  # an intermediate task's length
    assert trial["lr"] == TINY_LR and trial["precision"] == "fp32"
    assert trial["max_seq_len.xnli"] == 100  # what runs, not the 1024 asked for
    assert trial["target_epochs.xnli"] == r.target_epochs["xnli"]
    assert base["tasks"] == "(none)" and base["task_count"] == 0 and base["mix"] == "none"
    assert trial["mix"] == "english" and trial["task_count"] == 2
    assert not [k for k, v in {**trial, **base}.items() if v is None or v == "auto"]


def test_a_baseline_shares_the_trial_s_baseline_key(catalog, facts):
    r = _resolve(catalog, facts)
    base = r.baseline()
    assert trial_keys(base, catalog).baseline == trial_keys(r, catalog).baseline
    assert trial_keys(base, catalog).intermediate is None
    other = _resolve(catalog, facts, intermediate=["qqp"], intermediate_epochs=1.0).baseline()
    assert trial_keys(other, catalog) == trial_keys(base, catalog)
    assert run_params(other, catalog) == run_params(base, catalog)
    assert other.requested == base.requested  # the phase at its defaults


def test_a_translation_with_its_english_source_marks_retrieval_languages(catalog, facts):
    """xnli_de (a machine translation of MNLI) trained beside MNLI is German-English
    parallel text: Tatoeba and BUCC in German are then not zero-shot, and say so."""
    from sweeper.runner.runs import run_tags

    both = _resolve(catalog, facts, targets=["xnli", "tatoeba", "bucc2018"],
                    intermediate=["mnli", "xnli_de"])
    assert dict(both.parallel_seen) == {"tatoeba": ("de",), "bucc2018": ("de",)}
    tags = run_tags(both, role="trial", sweep_id="s", sweep="n")
    assert tags["parallel_data_seen.tatoeba"] == "de" and "parallel_data_seen.xnli" not in tags
    alone = _resolve(catalog, facts, targets=["tatoeba"], intermediate=["xnli_de"])
    assert not alone.parallel_seen and not both.baseline().parallel_seen


def test_a_task_set_in_any_order_is_one_trial(catalog, facts):
    """The intermediate tasks are a set: trained in one canonical order, so that the key
    (which cannot see the order) and the numbers agree."""
    a = _resolve(catalog, facts, intermediate=["sst2", "mnli", "qqp"])
    b = _resolve(catalog, facts, intermediate=["qqp", "sst2", "mnli"])
    assert a.tasks == b.tasks == ("mnli", "qqp", "sst2")
    assert trial_keys(a, catalog) == trial_keys(b, catalog) and a.intermediate == b.intermediate
