"""What a trial's or a baseline's run records, by one recipe: its tags, where a grid
trial sits in its design, its params, and a finished run's scores, caveats and files
(on the in-memory store)."""

from __future__ import annotations

import json

import pytest

from sweeper import tracking
from sweeper.frozen import freeze
from sweeper.runner.runs import design_tags, log_params, log_result, run_tags
from sweeper.tracking.memory import MemoryStore
from sweeper.trial.keys import trial_keys
from sweeper.trial.params import run_params
from sweeper.trial.resolve import resolve
from sweeper.trial.resolved import Facts
from sweeper.trial.settings import TrialSettings


@pytest.fixture(scope="module")
def facts(catalog) -> Facts:
    return Facts(model_id="tiny:test", tokenizer="tok", num_layers=2, max_positions=100,
                 data_versions=freeze({t: "v1" for t in catalog.tasks}), device="cpu")


def _resolve(catalog, facts, **values):
    base = dict(targets=["xnli", "tatoeba"], intermediate=["mnli"], model="tiny", data="sample")
    return resolve(TrialSettings.build(**{**base, **values}), catalog, facts)


def test_a_trial_s_tags_name_its_sweep_keys_protocols_and_data(catalog, facts):
    r = _resolve(catalog, facts)
    keys = trial_keys(r, catalog)
    tags = run_tags(r, role="trial", sweep_id="s1", sweep="alpha", keys=keys)
    assert tags[tracking.ROLE_TAG] == "trial" and tags[tracking.SWEEP_ID_TAG] == "s1"
    assert tags[tracking.SWEEP_NAME_TAG] == "alpha" and tags["protocol"] == "zero_shot"
    assert tags["protocol.xnli"] == tags["protocol.tatoeba"] == "zero_shot"
    assert (tags["data_source"], tags["synthetic"], tags["model"]) == ("sample", "true", "tiny")
    assert tags[tracking.INTERMEDIATE_KEY_TAG] == keys.intermediate
    assert tags[tracking.BASELINE_KEY_TAG] == keys.baseline
    base = run_tags(r.baseline(), role="baseline", sweep_id="s1", sweep="alpha",
                    keys=trial_keys(r.baseline(), catalog))
    assert base[tracking.INTERMEDIATE_KEY_TAG] == "" and base[tracking.ROLE_TAG] == "baseline"
    assert tracking.BASELINE_KEY_TAG not in run_tags(r, role="trial", sweep_id="s", sweep="a")
    translated = _resolve(catalog, facts, targets=["xnli"], intermediate=["xnli_de"])
    tags = run_tags(translated, role="trial", sweep_id="s", sweep="a")
    assert tags["protocol"] == "not_zero_shot" and tags["protocol.xnli"] != "zero_shot"


def test_design_tags_place_a_grid_trial_in_its_chain_or_arm():
    assert design_tags({"chain": 2, "added": "qqp", "tasks": "mnli,qqp"}) == {
        tracking.CHAIN_TAG: "2", tracking.CHAIN_ADDED_TAG: "qqp"}
    assert design_tags({"budget": "small", "chain": None}) == {tracking.ARM_TAG: "small"}
    assert design_tags({"tasks": "mnli"}) == {}
    # a fidelity ladder's trial: its rung, the rung's place and how its set got there
    assert design_tags({"tasks": "mnli", "rung": "full", "level": 1, "via": "audited"}) == {
        tracking.RUNG_TAG: "full", tracking.RUNG_LEVEL_TAG: "1", tracking.VIA_TAG: "audited"}


def _result() -> dict:
    sw = {"de": {"f1": 50.0, "precision": 40.0, "recall": 60.0}}
    return {"protocol": {"bucc2018": "zero_shot"},
            "test": {"zero_shot": {"bucc2018": sw}, "summary": {"bucc2018": {"avg_metric": 50.0}}},
            "dev": {"zero_shot": {"bucc2018": sw}, "summary": {}},
            "training": {"intermediate": {"cached": False}, "bucc2018": {"evaluation": {
                "dev": {"de": {"threshold": 0.4}}, "test": {"de": {"threshold": 0.4}}}}},
            "protocols": {"targets": {"bucc2018": {"selection": "bucc2018 sample (dev)"}},
                          "retrieval": "layer 1, mean pooling"},
            "not_comparable_with_xtreme": {"bucc2018": "gold pairs only"}}


def test_a_finished_run_logs_its_scores_caveats_and_files(tmp_path, catalog, facts):
    store = MemoryStore()
    tracker = tracking.Tracker(store, "alpha")
    run_id = tracker.start("t", "s1:t1", {})
    r = _resolve(catalog, facts)
    log_params(tracker, run_id, r, catalog)
    assert tracker.run(run_id).params == {k: str(v) for k, v in run_params(r, catalog).items()}
    (tmp_path / "metrics.json").write_text(json.dumps(_result()))
    (tmp_path / "trial_config.yaml").write_text("seed: 0\n")
    (tmp_path / "xtreme" / "predictions").mkdir(parents=True)
    (tmp_path / "xtreme" / "predictions" / "test-de.tsv").write_text("1\t2\n")
    log_result(tracker, run_id, _result(), tmp_path, extra={"objective": 1.5})
    run = tracker.run(run_id)
    assert run.metrics == {"test.bucc2018.de.f1": 50.0, "test.bucc2018.de.precision": 40.0,
                           "test.bucc2018.de.recall": 60.0, "test.bucc2018.avg": 50.0,
                           "dev.bucc2018.de.f1": 50.0, "dev.bucc2018.de.precision": 40.0,
                           "dev.bucc2018.de.recall": 60.0, "dev.bucc2018.de.threshold": 0.4,
                           "test.bucc2018.de.threshold": 0.4, "objective": 1.5}
    assert run.tags["selection_source.bucc2018"] == "bucc2018 sample (dev)"
    assert run.tags["retrieval_protocol"] == "layer 1, mean pooling"
    assert run.tags["not_comparable_with_xtreme.bucc2018"] == "gold pairs only"
    assert store.artifacts(run_id) == ["metrics.json", "trial_config.yaml", "xtreme"]
    assert store.artifacts(run_id, "xtreme/predictions") == ["xtreme/predictions/test-de.tsv"]


def test_a_point_run_again_under_a_new_trial_id_logs_into_its_own_run():
    """Found by the chaos run: a trial finished a moment before its driver was killed,
    while Tune's state in the storage did not hold it yet; the resume ran the point again
    under a new trial id and the sweep held two finished runs for it. A trial's run is
    now found by its point (its flat parameters), whatever Tune calls the trial."""
    from sweeper import tracking
    from sweeper.runner.runs import trial_run_key
    from sweeper.space.params import RESOLVED
    from sweeper.tracking.memory import MemoryStore

    point = {"tasks": "qqp,mnli", "count": 2, "chain": "0", "seed": 0, "mix": "chain"}
    first = trial_run_key("s1", {**point, RESOLVED: object()})
    again = trial_run_key("s1", {RESOLVED: object(), **dict(reversed(point.items()))})
    assert first == again and first.startswith("s1:")
    assert trial_run_key("s1", {**point, "seed": 1}) != first
    assert trial_run_key("s2", point) != first
    tracker = tracking.Tracker(MemoryStore(), "sweep")
    run = tracker.start("t", first, {})
    tracker.finish(run)
    assert tracker.start("t", again, {}) == run
