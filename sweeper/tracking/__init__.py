"""Tracking: a small Store interface (MLflow, or in memory for tests), the Tracker logic
a sweep's runs are made with, and the sweeps of a store. See `base` for the runs a
sweep makes and the tags that tie them together."""

from __future__ import annotations

import contextlib
import os

from sweeper.errors import ConfigError
from sweeper.tracking.base import (
    ARM_TAG,
    BASELINE_KEY_TAG,
    BASELINE_RUN_TAG,
    CHAIN_ADDED_TAG,
    CHAIN_TAG,
    FOLDER_TAG,
    INTERMEDIATE_KEY_TAG,
    PARENT_TAG,
    ROLE_TAG,
    RUNG_LEVEL_TAG,
    RUNG_TAG,
    STOPPED_TAG,
    SWEEP_ID_TAG,
    SWEEP_NAME_TAG,
    TRIAL_TAG,
    VIA_TAG,
    RunRecord,
    Store,
    Tracker,
    data_metrics,
    trial_metrics,
)
from sweeper.tracking.sweeps import list_sweeps, open_sweep, sweep_parents
from sweeper.tracking.uris import (
    artifact_root,
    default_uri,
    given_uri,
    sqlite_path,
    store_uri,
)

__all__ = ["ARM_TAG", "BASELINE_KEY_TAG", "BASELINE_RUN_TAG", "CHAIN_ADDED_TAG", "CHAIN_TAG",
           "FOLDER_TAG", "INTERMEDIATE_KEY_TAG",
           "PARENT_TAG", "ROLE_TAG", "RUNG_LEVEL_TAG", "RUNG_TAG", "STOPPED_TAG", "SWEEP_ID_TAG",
           "SWEEP_NAME_TAG", "TRIAL_TAG", "VIA_TAG",
           "RunRecord", "Store", "Tracker", "artifact_root", "default_uri", "given_uri",
           "list_sweeps", "open_store", "open_sweep", "sqlite_path", "store_uri", "sweep_parents",
           "sweep_store",
           "data_metrics", "trial_metrics"]


def open_store(uri: str, patience_s: float | None = None) -> Store:
    """The store at `uri` (MLflow: a sqlite file, a tracking server, ...); a sqlite file
    that is there but is no database is refused before MLflow opens it. A server that
    does not answer is waited for up to `patience_s` per call (a few seconds if None:
    a command says at once that it cannot reach it)."""
    from sweeper.tracking.mlflow_store import QUICK_S, MlflowStore

    check_sqlite(uri)
    return MlflowStore(uri, QUICK_S if patience_s is None else patience_s)


SWEEP_PATIENCE_S = 600.0  # default of SWEEPER_TRACKING_PATIENCE_S


def sweep_store(uri: str) -> Store:
    """The store as a running sweep's processes (its driver, its trials) use it: a server
    that stops answering is waited for, up to SWEEPER_TRACKING_PATIENCE_S (600 s by
    default; a runtime setting of each node), and each call goes on within a second or
    so of its return. Past that, the call fails as before."""
    return open_store(uri, float(os.environ.get("SWEEPER_TRACKING_PATIENCE_S",
                                                SWEEP_PATIENCE_S)))


def check_sqlite(uri: str) -> None:
    """An existing sqlite store file is a readable SQLite database (a ConfigError naming
    the file otherwise); a missing one is left to be made."""
    import sqlite3

    path = sqlite_path(uri)
    if path is None or not path.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise ConfigError(f"MLflow store {path} is not a readable SQLite database "
                          f"({exc})") from None
