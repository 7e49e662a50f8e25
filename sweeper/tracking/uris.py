"""Tracking URIs: the one place a `sqlite:///` URI is read or made. Pure module."""

from __future__ import annotations

import os
from pathlib import Path

from sweeper.errors import SweeperError

SQLITE = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The file of a sqlite store URI; None for anything else."""
    return Path(uri[len(SQLITE):]) if uri.startswith(SQLITE) else None


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def default_uri(storage: Path) -> str:
    """A sqlite file in the sweep's storage folder (absolute, as trials change cwd)."""
    return f"{SQLITE}{(storage / 'mlflow.db').resolve()}"


def artifact_root(uri: str, storage: str, remote_storage: bool) -> Path | None:
    """Where a new experiment keeps its artifacts: under a local storage folder; beside
    an sqlite store when the storage is a URI; a tracking server's own otherwise. Never
    MLflow's fallback, ./mlruns in whatever folder the command ran from."""
    if not remote_storage:
        return Path(storage) / "mlartifacts"
    path = sqlite_path(uri)
    return path.parent / "mlartifacts" if path else None


def given_uri(uri: str | None) -> str | None:
    """The tracking store asked for: `uri`, else $MLFLOW_TRACKING_URI (the one place the
    environment is read for it)."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI")


def store_uri(uri: str | None, storage: str | Path) -> str:
    """The tracking store a read-only command reads: `uri`, $MLFLOW_TRACKING_URI, or the
    sqlite file in `storage`. A sqlite file that does not exist is an error (reading must
    not create a store)."""
    uri = given_uri(uri) or default_uri(Path(storage))
    path = sqlite_path(uri)
    if path is not None and not path.is_file():
        raise SweeperError(f"no MLflow store at {path} (give --tracking-uri or --storage)")
    return uri
