"""One contract over every tracking store (MLflow on a sqlite file, and in memory), then
the sweep's tracking logic on it: runs found again by key, sweeps listed and opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeper.errors import SweeperError
from sweeper import tracking
from sweeper.tracking.memory import MemoryStore


@pytest.fixture(params=["memory", "mlflow"])
def store(request, tmp_path) -> tracking.Store:
    if request.param == "memory":
        return MemoryStore()
    return tracking.open_store(f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_experiments_are_found_by_name_and_made_on_request(store, tmp_path):
    assert store.experiment("sweep") is None
    made = store.experiment("sweep", create=True, artifact_root=tmp_path / "art")
    assert store.experiment("sweep") == made and store.experiment_name(made) == "sweep"
    assert made in store.experiments()


def test_runs_keep_first_params_latest_metrics_and_their_status(store, tmp_path):
    eid = store.experiment("sweep", create=True, artifact_root=tmp_path / "art")
    run = store.create_run(eid, "trial 1", {"role": "trial"})
    record = store.run(run)
    assert (record.name, record.status, record.tags["role"]) == ("trial 1", "RUNNING", "trial")
    store.log_params(run, {"lr": "0.1"})
    store.log_params(run, {"lr": "0.2", "seed": "0"})  # a param keeps its first value
    store.log_metrics(run, [("loss", 2.0, 0, 1), ("loss", 1.0, 5, 2), ("loss", 9.0, 3, 3)])
    store.set_tags(run, {"role": "baseline"})
    store.set_status(run, "FINISHED")
    record = store.run(run)
    assert record.params == {"lr": "0.1", "seed": "0"}
    assert record.metrics["loss"] == 1.0  # the latest step's value
    assert record.tags["role"] == "baseline" and record.status == "FINISHED"


def test_search_by_tags_newest_first(store, tmp_path):
    eid = store.experiment("sweep", create=True, artifact_root=tmp_path / "art")
    first = store.create_run(eid, "a", {"k": "x", "role": "trial"})
    second = store.create_run(eid, "b", {"k": "x", "role": "baseline"})
    store.create_run(eid, "c", {"k": "y"})
    assert [r.run_id for r in store.search([eid], {"k": "x"})] == [second, first]
    assert [r.run_id for r in store.search([eid], {"k": "x", "role": "trial"})] == [first]
    assert len(store.search([eid], {"k": "x"}, limit=1)) == 1


def test_artifacts_are_listed_where_they_were_logged(store, tmp_path):
    eid = store.experiment("sweep", create=True, artifact_root=tmp_path / "art")
    run = store.create_run(eid, "a", {})
    folder = tmp_path / "out"
    (folder / "xtreme").mkdir(parents=True)
    (folder / "xtreme" / "test-en.tsv").write_text("a\n")
    (folder / "metrics.json").write_text("{}")
    store.log_artifacts(run, folder / "metrics.json")
    store.log_artifacts(run, folder / "xtreme", "xtreme")
    assert set(store.artifacts(run)) == {"metrics.json", "xtreme"}
    assert store.artifacts(run, "xtreme") == ["xtreme/test-en.tsv"]


def test_a_retried_trial_reopens_its_own_run(store, tmp_path):
    tracker = tracking.Tracker(store, "sweep", tmp_path / "art")
    parent = tracker.start("sweep", "s1:sweep", {tracking.ROLE_TAG: "sweep"})
    run = tracker.start("trial", "s1:t1", {"try": "1"}, parent=parent)
    tracker.log_params(run, {"lr": 0.1})
    tracker.finish(run, "FAILED")
    again = tracker.start("trial", "s1:t1", {"try": "2"}, parent=parent)
    assert again == run and tracker.run(run).status == "RUNNING"
    assert tracker.run(run).tags["try"] == "2"
    tracker.log_params(run, {"lr": 0.1, "seed": 0})  # logging again is harmless
    assert [r.run_id for r in tracker.children(parent)] == [run]
    tracker.log_curve(run, [("train.loss", float("nan"), 1), ("train.loss", 0.5, 2)])
    assert tracker.run(run).metrics["train.loss"] == 0.5  # NaNs left out


def _sweep(store, name: str, sweep_id: str, trials: list[str]) -> str:
    tracker = tracking.Tracker(store, name)
    parent = tracker.start(name, f"{sweep_id}:sweep", {tracking.ROLE_TAG: "sweep",
                                                       tracking.SWEEP_ID_TAG: sweep_id})
    for status in trials:
        run = tracker.start("t", f"{sweep_id}:{status}:{len(trials)}", {}, parent=parent)
        tracker.finish(run, status)
    tracker.start("b", f"{sweep_id}:baseline", {tracking.ROLE_TAG: "baseline"}, parent=parent)
    return parent


def test_sweeps_are_listed_and_opened_by_name_id_or_run(store):
    parent = _sweep(store, "alpha", "id-a", ["FINISHED", "FAILED"])
    listed = tracking.list_sweeps(store)
    assert [(s["sweep"], s["sweep_id"], s["trials"], s["baselines"]) for s in listed] == [
        ("alpha", "id-a", 2, 1)]
    assert listed[0]["by_status"] == {"FINISHED": 1, "FAILED": 1}
    for handle in ("alpha", "id-a", parent):
        tracker, found = tracking.open_sweep(store, handle)
        assert found == parent and tracker.experiment == "alpha"
    child = tracking.Tracker(store, "alpha").children(parent)[0].run_id
    assert tracking.open_sweep(store, child)[1] == parent
    _sweep(store, "alpha", "id-b", [])
    with pytest.raises(SweeperError, match="2 sweeps are called 'alpha'.*id-a"):
        tracking.open_sweep(store, "alpha")
    with pytest.raises(SweeperError, match="no sweep or run 'nope'"):
        tracking.open_sweep(store, "nope")


def test_trial_metrics_flatten_both_splits():
    result = {"protocol": {"xnli": "zero_shot"},
              "test": {"zero_shot": {"xnli": {"sw": {"accuracy": 40.0}}},
                       "summary": {"xnli": {"avg_metric": 40.0, "tiers": {"low": 40.0}}},
                       "xtreme": {"overall_scores": {"classification": 40.0}}},
              "dev": {"zero_shot": {"xnli": {"sw": {"accuracy": 41.0}}}, "summary": {}}}
    assert tracking.trial_metrics(result) == {
        "test.xnli.sw.accuracy": 40.0, "test.xnli.avg": 40.0, "test.xnli.tier.low": 40.0,
        "test.xtreme.classification": 40.0, "dev.xnli.sw.accuracy": 41.0}


def test_sqlite_uris_are_read_in_one_place(tmp_path):
    uri = tracking.default_uri(tmp_path)
    assert tracking.sqlite_path(uri) == (tmp_path / "mlflow.db").resolve()
    assert tracking.sqlite_path("http://127.0.0.1:5000") is None
    with pytest.raises(SweeperError, match="no MLflow store"):
        tracking.store_uri(None, tmp_path)  # reading never creates a store
    assert not (tmp_path / "mlflow.db").exists()
    assert json.dumps(str(tracking.artifact_root(uri, "s3://b/x", True))).endswith(
        'mlartifacts"')
    assert tracking.artifact_root(uri, str(tmp_path), False) == Path(tmp_path) / "mlartifacts"


def test_a_sweep_whose_driver_stopped_beating_is_interrupted():
    from sweeper.tracking.base import RunRecord
    from sweeper.tracking.sweeps import HEARTBEAT_TAG, STALE_S, sweep_status

    def parent(status: str, beat: float | None) -> RunRecord:
        tags = {HEARTBEAT_TAG: f"{beat:.0f}"} if beat is not None else {}
        return RunRecord("r", "e", "s", status, 0, tags=tags)

    now = 1_000_000.0
    assert sweep_status(parent("RUNNING", now - 10), now) == "RUNNING"
    assert sweep_status(parent("RUNNING", now - STALE_S - 1), now) == "interrupted"
    assert sweep_status(parent("FINISHED", now - STALE_S - 1), now) == "FINISHED"
    assert sweep_status(parent("RUNNING", None), now) == "RUNNING"  # a sweep before beats


def test_storage_is_checked_against_the_driver_s_record(tmp_path):
    """The record keeps each restore file's last two versions; a file that matches
    neither, or a storage with no record at all, is refused unless trusted."""
    from sweeper.errors import ConfigError
    from sweeper.runner import trust

    (tmp_path / "tuner.pkl").write_bytes(b"one")
    (tmp_path / "experiment_state-x.json").write_text("{}")
    (tmp_path / "summary.json").write_text("{}")  # not restored from: not checked
    record = trust.merged({}, trust.storage_hashes(str(tmp_path)))
    assert set(record) == {"tuner.pkl", "experiment_state-x.json"}
    tags = {trust.HASHES_TAG: json.dumps(record)}
    trust.check(str(tmp_path), tags, trust=False)
    (tmp_path / "tuner.pkl").write_bytes(b"two")  # the driver's next version...
    record = trust.merged(record, trust.storage_hashes(str(tmp_path)))
    assert len(record["tuner.pkl"]) == 2
    (tmp_path / "tuner.pkl").write_bytes(b"one")  # ...not yet copied: the last one is kept
    trust.check(str(tmp_path), {trust.HASHES_TAG: json.dumps(record)}, trust=False)
    (tmp_path / "tuner.pkl").write_bytes(b"swapped")
    with pytest.raises(ConfigError, match="tuner.pkl differ"):
        trust.check(str(tmp_path), {trust.HASHES_TAG: json.dumps(record)}, trust=False)
    with pytest.raises(ConfigError, match="no record"):
        trust.check(str(tmp_path), {}, trust=False)
    trust.check(str(tmp_path), {}, trust=True)
    (tmp_path / "searcher-state-x.pkl").write_bytes(b"new")  # a file the driver never wrote
    with pytest.raises(ConfigError, match="searcher-state-x.pkl"):
        trust.check(str(tmp_path), {trust.HASHES_TAG: json.dumps(record)}, trust=False)
