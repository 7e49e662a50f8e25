"""An in-memory store: the sweep's tracking logic tested without a database or a server.
It keeps MLflow's rules that the logic relies on: params are written once, a search
returns the newest runs first, a metric's value is its latest step's."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

from sweeper.tracking.base import STATUSES, RunRecord


class MemoryStore:
    def __init__(self, uri: str = "memory://"):
        self.uri = uri
        self._experiments: dict[str, str] = {}  # id -> name
        self._runs: dict[str, RunRecord] = {}
        self._steps: dict[tuple[str, str], int] = {}  # (run, metric) -> latest step
        self._files: dict[str, Path] = {}  # run -> its artifact folder
        self._ids = itertools.count(1)

    def experiment(self, name: str, *, create: bool = False,
                   artifact_root: Path | None = None) -> str | None:
        for eid, found in self._experiments.items():
            if found == name:
                return eid
        if not create:
            return None
        eid = str(len(self._experiments) + 1)
        self._experiments[eid] = name
        return eid

    def experiment_name(self, experiment_id: str) -> str:
        return self._experiments[experiment_id]

    def experiments(self) -> list[str]:
        return list(self._experiments)

    def create_run(self, experiment_id: str, name: str, tags: dict[str, str]) -> str:
        run_id = f"run{next(self._ids):04d}"
        start = time.time_ns() // 1_000_000 + len(self._runs)  # strictly newer
        self._runs[run_id] = RunRecord(run_id, experiment_id, name, "RUNNING", start,
                                       tags=dict(tags))
        return run_id

    def run(self, run_id: str) -> RunRecord:
        record = self._runs[run_id]
        return RunRecord(record.run_id, record.experiment_id, record.name, record.status,
                         record.start_time, dict(record.params), dict(record.tags),
                         dict(record.metrics))

    def search(self, experiment_ids: list[str], tags: dict[str, str],
               limit: int = 10000) -> list[RunRecord]:
        found = [r for r in self._runs.values() if r.experiment_id in experiment_ids
                 and all(r.tags.get(k) == v for k, v in tags.items())]
        found.sort(key=lambda r: -r.start_time)
        return [self.run(r.run_id) for r in found[:limit]]

    def set_status(self, run_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status}")
        self._runs[run_id].status = status

    def delete_run(self, run_id: str) -> None:
        del self._runs[run_id]

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self._runs[run_id].tags.update(tags)

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        record = self._runs[run_id]
        for k, v in params.items():
            record.params.setdefault(k, v)

    def log_metrics(self, run_id: str, points: list[tuple[str, float, int, int]]) -> None:
        record = self._runs[run_id]
        for name, value, step, _ in points:
            if step >= self._steps.get((run_id, name), step):
                record.metrics[name] = value
                self._steps[(run_id, name)] = step

    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None:
        root = self._files.setdefault(run_id, Path(tempfile.mkdtemp(prefix="memory-store-")))
        dest = root / (path or "")
        if local.is_dir():
            shutil.copytree(local, dest, dirs_exist_ok=True)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(local, dest / local.name)

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        root = self._files.get(run_id)
        return (root / path).read_bytes() if root and (root / path).is_file() else None

    def artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        root = self._files.get(run_id)
        folder = root / (path or "") if root else None
        if folder is None or not folder.is_dir():
            return []
        return sorted(str(p.relative_to(root)) for p in folder.iterdir())
