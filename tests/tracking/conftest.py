"""The tracking tests' store: each test runs on MLflow (a sqlite file) and in memory."""

from __future__ import annotations

import pytest

from sweeper import tracking
from sweeper.tracking.memory import MemoryStore


@pytest.fixture(params=["memory", "mlflow"])
def store(request, tmp_path) -> tracking.Store:
    if request.param == "memory":
        return MemoryStore()
    return tracking.open_store(f"sqlite:///{tmp_path / 'mlflow.db'}")
