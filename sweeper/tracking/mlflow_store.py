"""The MLflow store: the only module that imports mlflow.

It uses `MlflowClient` with explicit run ids (no global active run), so every process
logs into the runs it names. A sqlite file, a tracking server or any URI MLflow takes.

A tracking server that does not answer is waited for here, not by MLflow: MLflow's own
retries back off geometrically (4, 8, 16, 32, 64 s between tries), so a client that met a
30 s outage found the restarted server up to half a minute late, and every trial and the
driver with it. Instead each call is tried again every RETRY_S for up to the store's
`patience_s` (`Patient`), and MLflow's own retries are off unless the user set them
(MLFLOW_HTTP_REQUEST_MAX_RETRIES).
"""

from __future__ import annotations

import errno
import functools
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

from sweeper.errors import SweeperError, one_line
from sweeper.tracking.base import RunRecord
from sweeper.tracking.uris import is_server

RETRY_S = 1.0  # between tries at a server that does not answer (plus up to half of it)
QUICK_S = 10.0  # how long a command waits for one (`ls`, `report`, a sweep's first look)


class NoAnswer(SweeperError):
    """The tracking server did not answer (told as one line, like any store error)."""


def unanswered(exc: BaseException) -> bool:
    """Whether an MLflow call failed for want of an answer (no connection, a timeout, a
    proxy's 5xx), not on the server's word (a missing run, a refused value)."""
    if isinstance(exc, NoAnswer):
        return True
    text = str(exc)
    return text.startswith("API request to") and ("failed with exception" in text
                                                 or "failed with timeout exception" in text)


class Patient:
    """An MlflowClient whose calls wait out a server that does not answer: each tried
    again every RETRY_S (saying so once per call) until `patience_s` have passed, then
    the last failure is raised."""

    def __init__(self, client: Any, uri: str, patience_s: float):
        self._client, self._uri, self._patience_s = client, uri, patience_s

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self._patience_s
            told = False
            while True:
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    left = deadline - time.monotonic()
                    if not unanswered(exc) or left <= 0:
                        raise
                    if not told:
                        print(f"sweeper: the tracking server at {self._uri} does not answer; "
                              f"trying again every {RETRY_S:.0f} s for up to {left:.0f} s",
                              file=sys.stderr, flush=True)
                        told = True
                    time.sleep(min(left, RETRY_S * (1 + random.random() / 2)))
        return call


def _full_disk(exc: BaseException) -> bool:
    text = str(exc).lower()
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or \
        "disk is full" in text or "no space left" in text


def writes(method: Callable) -> Callable:
    """A write to the store: a full disk under it is told as such (one line), not as
    whatever the database layer makes of it."""
    @functools.wraps(method)
    def wrapper(self: "MlflowStore", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if _full_disk(exc) or _full_disk(exc.__cause__ or exc):
                from sweeper.atomic import NoSpace

                raise NoSpace(f"no space left for the tracking store {self.uri}: free some, "
                              "then `sweeper resume` continues a sweep") from None
            raise
    return wrapper


class MlflowStore:
    """MLflow at `uri`; a server that does not answer is waited for up to `patience_s`
    per call (a sweep's own processes wait long: a trial outlives a server's restart)."""

    def __init__(self, uri: str, patience_s: float = QUICK_S):
        from mlflow.tracking import MlflowClient

        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        if is_server(uri):
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # see above
            self.client = Patient(self.client, uri, patience_s)

    def _fail(self, exc: Exception) -> SweeperError:
        kind = NoAnswer if unanswered(exc) else SweeperError
        return kind(f"MLflow tracking at {self.uri} is not usable: {one_line(exc, 200)}")

    def experiment(self, name: str, *, create: bool = False,
                   artifact_root: Path | None = None) -> str | None:
        try:
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                return found.experiment_id
            if not create:
                return None
            location = None
            if artifact_root is not None and not is_server(self.uri):
                location = Path(artifact_root).resolve().as_uri()
            return self.client.create_experiment(name, location)
        except SweeperError:
            raise
        except Exception as exc:
            raise self._fail(exc) from None

    def experiment_name(self, experiment_id: str) -> str:
        return self.client.get_experiment(experiment_id).name

    def experiments(self) -> list[str]:
        try:
            return [e.experiment_id for e in self.client.search_experiments()]
        except Exception as exc:
            raise self._fail(exc) from None

    @writes
    def create_run(self, experiment_id: str, name: str, tags: dict[str, str]) -> str:
        return self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id

    def run(self, run_id: str) -> RunRecord:
        return _record(self.client.get_run(run_id))

    def search(self, experiment_ids: list[str], tags: dict[str, str],
               limit: int = 10000) -> list[RunRecord]:
        query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
        runs = self.client.search_runs(experiment_ids, query, max_results=limit,
                                       order_by=["attributes.start_time DESC"])
        return [_record(r) for r in runs]

    @writes
    def set_status(self, run_id: str, status: str) -> None:
        if status == "RUNNING":
            self.client.update_run(run_id, status="RUNNING")
        else:
            self.client.set_terminated(run_id, status)

    @writes
    def delete_run(self, run_id: str) -> None:
        """Deleted as the UI deletes (searches no longer return it)."""
        self.client.delete_run(run_id)

    @writes
    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    @writes
    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        existing = self.client.get_run(run_id).data.params  # MLflow refuses a new value
        items = [Param(k, v) for k, v in params.items() if k not in existing]
        for i in range(0, len(items), 100):  # MLflow's limit per call
            self.client.log_batch(run_id, params=items[i:i + 100])

    @writes
    def log_metrics(self, run_id: str, points: list[tuple[str, float, int, int]]) -> None:
        from mlflow.entities import Metric

        items = [Metric(k, v, ts, step) for k, v, step, ts in points]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i:i + 1000])

    @writes
    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None:
        if local.is_dir():
            self.client.log_artifacts(run_id, str(local), path)
        else:
            self.client.log_artifact(run_id, str(local), path)

    def artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        return [a.path for a in self.client.list_artifacts(run_id, path)]

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        import tempfile

        parent = path.rpartition("/")[0] or None
        if path not in self.artifacts(run_id, parent):
            return None
        with tempfile.TemporaryDirectory() as tmp:
            local = self.client.download_artifacts(run_id, path, tmp)
            return Path(local).read_bytes()


def _record(run) -> RunRecord:
    return RunRecord(run_id=run.info.run_id, experiment_id=run.info.experiment_id,
                     name=run.info.run_name or "", status=run.info.status,
                     start_time=run.info.start_time or 0, params=dict(run.data.params),
                     tags=dict(run.data.tags), metrics=dict(run.data.metrics))
