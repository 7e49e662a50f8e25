"""Store URIs: sqlite paths, the default store and the artifact root, read in one place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeper import tracking
from sweeper.errors import SweeperError


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
