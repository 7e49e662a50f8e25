"""A storage folder is trusted only where it matches the driver's record of it."""

from __future__ import annotations

import json

import pytest


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
