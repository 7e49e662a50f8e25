"""A storage folder is trusted only where it matches the driver's record of it."""

from __future__ import annotations

import json
import time

import pytest

from sweeper import tracking
from sweeper.runner import trust
from sweeper.tracking.memory import MemoryStore
from sweeper.tracking.sweeps import HEARTBEAT_TAG


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


def test_the_record_is_made_from_the_storage_on_a_path_or_a_uri(tmp_path):
    (tmp_path / "tuner.pkl").write_bytes(b"one")
    (tmp_path / "basic-variant-state-x.json").write_text("{}")
    (tmp_path / "trial_1").mkdir()  # trial folders are not restored from
    hashes = trust.storage_hashes(str(tmp_path))
    assert list(hashes) == ["basic-variant-state-x.json", "tuner.pkl"]
    assert trust.storage_hashes(f"file://{tmp_path}") == hashes
    assert trust.storage_hashes(str(tmp_path / "missing")) == {}
    tracker = tracking.Tracker(MemoryStore(), "sweep")
    parent = tracker.start("sweep", "s:sweep", {})
    trust.record_now(str(tmp_path), tracker, parent)
    tags = tracker.run(parent).tags
    assert json.loads(tags[trust.HASHES_TAG]) == {k: [v] for k, v in hashes.items()}
    assert abs(float(tags[HEARTBEAT_TAG]) - time.time()) < 60
    trust.check(str(tmp_path), tags, trust=False)


def test_the_heartbeat_says_the_driver_lives_every_so_often(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = tracking.Tracker(tracking.open_store(uri), "sweep")
    parent = tracker.start("sweep", "s:sweep", {})
    callback = trust.heartbeat(uri, "sweep", parent)
    callback.on_step_end(0, [])
    callback.sending.join(60)  # sent by a thread of its own
    first = float(tracker.run(parent).tags[HEARTBEAT_TAG])
    assert abs(first - time.time()) < 60
    tracker.set_tags(parent, {HEARTBEAT_TAG: "1"})
    callback.on_step_end(1, [])  # within HEARTBEAT_S of the last: not again
    assert tracker.run(parent).tags[HEARTBEAT_TAG] == "1"
    assert callback.get_state() is None  # nothing for Tune to pickle


def test_a_heartbeat_to_a_server_that_does_not_answer_never_holds_the_loop():
    from tests.sweeps import free_port

    callback = trust.heartbeat(f"http://127.0.0.1:{free_port()}", "sweep", "parent")
    started = time.time()
    callback.on_step_end(0, [])
    callback.beat = 0.0
    callback.on_step_end(1, [])  # the last beat still tries: none more is started
    assert time.time() - started < 1.0 and callback.sending.is_alive()
