"""A trial's tracking journaled in its folder: delivered, it leaves the store as writing
straight to it does; a store that does not answer holds the rest for the next delivery
(and the writer never waits); delivering again, from the journal or an older copy of
it, changes nothing (on MLflow: no metric point twice); a run named by key in a tag
becomes its id. On each store (a sqlite MLflow file and in memory)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from sweeper import tracking
from sweeper.tracking.journal import OPS, REF, JournalTracker
from sweeper.tracking.mlflow_store import NoAnswer


class Outage:
    """A store that, while `down`, fails every call as MLflow's client does when the
    server does not answer (connection refused)."""

    def __init__(self, store: tracking.Store) -> None:
        self.inner, self.uri, self.down, self.calls = store, store.uri, False, 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.down and name == "experiment":  # (MlflowStore says it in one line)
                raise NoAnswer(f"MLflow tracking at {self.uri} is not usable: no answer")
            if self.down:
                raise RuntimeError(f"API request to {self.uri}/api/2.0/mlflow/{name} failed "
                                   "with exception ConnectionError(Connection refused)")
            return method(*args, **kwargs)
        return call


def _trial(tracker: tracking.Tracker, out: Path) -> str:
    """What a trial writes: its baseline's run, its own run, a curve, a result, files."""
    (out / "xtreme").mkdir(parents=True, exist_ok=True)
    (out / "xtreme" / "test-sw.tsv").write_text("1\n")
    (out / "metrics.json").write_text('{"a": 1}')
    base = tracker.start("baseline", "s:baseline:b1", {tracking.ROLE_TAG: "baseline"}, "P")
    tracker.log_metrics(base, {"test.x.avg": 50.0})
    tracker.finish(base)
    run = tracker.start("trial", "s:t1", {tracking.ROLE_TAG: "trial"}, parent="P")
    tracker.log_params(run, {"lr": 0.1, "tasks": "sst2"})
    tracker.set_tags(run, {tracking.BASELINE_RUN_TAG: tracker.handle("s:baseline:b1")})
    tracker.log_curve(run, [("train.loss", 2.0, 1), ("train.loss", 1.0, 2),
                            ("train.acc", float("nan"), 2)])
    tracker.log_metrics(run, {"test.x.avg": 55.0, "objective": 60.0})
    tracker.log_artifacts(run, out / "metrics.json")
    tracker.log_artifacts(run, out / "xtreme", "xtreme")
    tracker.log_artifacts(run, out / "missing.md")  # not there: nothing logged
    tracker.finish(run)
    return run


def _state(store: tracking.Store) -> list[tuple]:
    """Every run of the experiment as comparable values (ids replaced by keys)."""
    eid = store.experiment("sweep")
    runs = store.search([eid], {})
    keys = {r.run_id: r.tags[tracking.TRIAL_TAG] for r in runs}
    return sorted((r.tags[tracking.TRIAL_TAG], r.name, r.status, r.params,
                   {k: keys.get(v, v) for k, v in r.tags.items()
                    if (not k.startswith("mlflow.") or k == tracking.PARENT_TAG)
                    and (k, v) != (tracking.STOPPED_TAG, "false")},  # (set on a reopen)
                   r.metrics, store.artifacts(r.run_id), store.artifacts(r.run_id, "xtreme"))
                  for r in runs)


def _direct(tmp_path: Path, store: tracking.Store) -> list[tuple]:
    _trial(tracking.Tracker(store, "sweep"), tmp_path / "direct")
    return _state(store)


@pytest.fixture()
def other(request, tmp_path, store) -> tracking.Store:
    """A second store of the same kind, for the run written straight to it."""
    from sweeper.tracking.memory import MemoryStore

    if isinstance(store, MemoryStore):
        return MemoryStore()
    return tracking.open_store(f"sqlite:///{tmp_path / 'direct.db'}")


def test_a_delivered_journal_leaves_the_store_as_writing_straight_does(store, other,
                                                                       tmp_path):
    journal = JournalTracker(tmp_path / "trial" / "tracking", store, "sweep")
    run = _trial(journal, tmp_path / "trial")
    assert run == REF + "s:t1" and journal.pending() == 11
    assert store.experiment("sweep") is None  # nothing reached the store yet
    assert journal.deliver() == 0 and journal.pending() == 0
    assert _state(store) == _direct(tmp_path, other)
    assert not (tmp_path / "trial" / "tracking" / "files").exists() or not any(
        (tmp_path / "trial" / "tracking" / "files").iterdir())  # sent files are let go
    baseline = store.search([store.experiment("sweep")], {tracking.TRIAL_TAG:
                                                           "s:baseline:b1"})[0]
    trial = store.search([store.experiment("sweep")], {tracking.TRIAL_TAG: "s:t1"})[0]
    assert trial.tags[tracking.BASELINE_RUN_TAG] == baseline.run_id


def test_a_store_that_does_not_answer_holds_the_rest_for_the_next_delivery(store, other,
                                                                         tmp_path):
    down = Outage(store)
    journal = JournalTracker(tmp_path / "trial" / "tracking", down, "sweep")
    tracker = journal
    base = tracker.start("baseline", "s:baseline:b1", {tracking.ROLE_TAG: "baseline"}, "P")
    assert journal.deliver() == 0
    down.down = True
    tracker.log_metrics(base, {"test.x.avg": 50.0})
    calls = down.calls
    assert journal.deliver() == 1 and down.calls == calls + 1  # one try, then it stops
    assert not journal.finished("s:baseline:b1")  # no answer: logged again, harmlessly
    fresh = JournalTracker(tmp_path / "retried" / "tracking", down, "sweep")  # a new worker
    assert not fresh.finished("s:baseline:b1")
    fresh.start("trial", "s:t2", {})
    assert fresh.deliver() == 1  # not even the experiment answers: held, not raised
    tracker.finish(base)
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(journal.journal, checkpoint)  # the copy a checkpoint takes
    run = _trial(journal, tmp_path / "trial")  # the trial goes on, writing
    assert journal.deliver() == journal.pending() > 10
    down.down = False
    assert journal.deliver() == 0
    # the driver delivers the checkpoint's older copy too (a trial that ended in the
    # outage): nothing changes
    assert JournalTracker(checkpoint, store, "sweep").deliver() == 0
    assert JournalTracker(journal.journal, store, "sweep").deliver() == 0
    assert _state(store) == _direct(tmp_path, other)
    assert run == REF + "s:t1"


def test_delivering_again_logs_no_metric_point_twice_in_mlflow(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    journal = JournalTracker(tmp_path / "tracking", tracking.open_store(uri), "sweep")
    _trial(journal, tmp_path / "trial")
    copy = tmp_path / "copy"
    shutil.copytree(journal.journal, copy)
    assert journal.deliver() == 0
    assert JournalTracker(copy, tracking.open_store(uri), "sweep").deliver() == 0
    run = tracking.Tracker(tracking.open_store(uri), "sweep").find(tracking.TRIAL_TAG, "s:t1")
    history = MlflowClient(uri).get_metric_history(run, "train.loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 2.0), (2, 1.0)]
    assert tracking.open_store(uri).run(run).status == "FINISHED"


def test_a_line_cut_short_by_a_killed_worker_is_dropped_and_writing_goes_on(tmp_path):
    from sweeper.tracking.memory import MemoryStore

    folder = tmp_path / "tracking"
    journal = JournalTracker(folder, MemoryStore(), "sweep")
    run = journal.start("trial", "s:t1", {})
    with open(folder / OPS, "a") as f:
        f.write('{"op": "tags", "key": "s:t1", "ta')
    again = JournalTracker(folder, journal.store, "sweep")  # the retry, from its folder
    assert again.pending() == 1
    again.finish(run)
    assert again.deliver() == 0
    record = journal.store.run(tracking.Tracker(journal.store, "sweep").handle("s:t1"))
    assert record.status == "FINISHED"


def test_a_write_the_store_refuses_is_raised_not_held(tmp_path):
    from sweeper.tracking.memory import MemoryStore

    journal = JournalTracker(tmp_path / "tracking", MemoryStore(), "sweep")
    run = journal.start("trial", "s:t1", {})
    journal.finish(run, "DONE")  # no such status
    with pytest.raises(ValueError, match="unknown run status"):
        journal.deliver()
    assert journal.pending() == 1  # the start went; the refused write stays
    with pytest.raises(TypeError, match="read them from the store"):
        journal.run(run)
