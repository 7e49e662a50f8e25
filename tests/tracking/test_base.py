"""One contract over every tracking store (MLflow on a sqlite file, and in memory), and
the Tracker on it: runs found again by key, a trial's metrics flattened for logging."""

from __future__ import annotations

from sweeper import tracking


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


def test_a_run_created_twice_by_a_retried_request_is_kept_once(store, tmp_path):
    """A tracking server stopped after it had created a run but before it answered: the
    client sends the request again and the store holds two runs for one key (a report
    would count it twice). A run is now kept once: the extra copies are deleted as it
    is created."""
    tracker = tracking.Tracker(store, "sweep", tmp_path / "art")
    parent = tracker.start("sweep", "s1:sweep", {tracking.ROLE_TAG: "sweep"})
    create = store.create_run
    made: list[str] = []

    def twice(experiment_id, name, tags):  # the first answer lost, the request resent
        made.append(create(experiment_id, name, tags))
        made.append(create(experiment_id, name, tags))
        return made[-1]

    store.create_run = twice
    run = tracker.start("baseline", "s1:baseline:k", {}, parent=parent)
    store.create_run = create
    assert len(made) == 2 and run in made
    assert [r.run_id for r in tracker.children(parent)] == [run]
    assert tracker.find(tracking.TRIAL_TAG, "s1:baseline:k") == run
    assert tracker.start("baseline", "s1:baseline:k", {}, parent=parent) == run


def test_trial_metrics_flatten_both_splits():
    result = {"protocol": {"xnli": "zero_shot"},
              "test": {"zero_shot": {"xnli": {"sw": {"accuracy": 40.0}}},
                       "summary": {"xnli": {"avg_metric": 40.0, "tiers": {"low": 40.0}}},
                       "xtreme": {"overall_scores": {"classification": 40.0}}},
              "dev": {"zero_shot": {"xnli": {"sw": {"accuracy": 41.0}}}, "summary": {}}}
    assert tracking.trial_metrics(result) == {
        "test.xnli.sw.accuracy": 40.0, "test.xnli.avg": 40.0, "test.xnli.tier.low": 40.0,
        "test.xtreme.classification": 40.0, "dev.xnli.sw.accuracy": 41.0}
