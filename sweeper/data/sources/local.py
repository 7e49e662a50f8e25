"""The local source: parquet or JSON-lines files laid out as
``<dir>/<task>/<lang>/<split>.parquet`` (or ``.jsonl``), split in train/validation/test;
and the atomic parquet write that lays such files out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from sweeper.catalog import TaskSpec
from sweeper.data.sources.base import mapped_columns
from sweeper.digest import digest
from sweeper.errors import DataError, one_line


class LocalSource:
    """Parquet or JSON-lines files laid out as <dir>/<task>/<lang>/<split>.<ext>."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        try:
            self.root = Path(root).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise DataError(f"data directory {root}: cannot be resolved ({exc})") from None
        self._versions: dict[str, str] = {}
        if not self.root.is_dir():
            raise DataError(f"data directory not found: {self.root}")

    def version(self, task: TaskSpec) -> str:
        """A hash of the name, size and mtime of each of the task's files, taken once per
        task and source object."""
        if task.name not in self._versions:
            stats = sorted((str(p.relative_to(self.root)), p.stat().st_size,
                            p.stat().st_mtime_ns) for p in (self.root / task.name).glob("*/*.*"))
            self._versions[task.name] = "local:" + digest(stats, 16)
        return self._versions[task.name]

    def path(self, task: TaskSpec, lang: str, split: str) -> Path:
        for ext in ("parquet", "jsonl"):
            p = self.root / task.name / lang / f"{split}.{ext}"
            if p.exists():
                return p
        raise DataError(f"missing split: no {self.root / task.name / lang / split}.parquet "
                        f"(or .jsonl) for task '{task.name}', language '{lang}'")

    def where(self, task: TaskSpec, lang: str, split: str) -> str:
        return str(self.path(task, lang, split))

    def check(self, task: TaskSpec, lang: str, split: str) -> None:
        """The file is there and its mapped columns pass sweeper.data.validate."""
        from sweeper.data.validate import check_file

        check_file(task, self.path(task, lang, split), mapped_columns(task))

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        p = self.path(task, lang, split)
        try:
            if p.suffix == ".parquet":
                return datasets.Dataset(pq.read_table(p))
            return datasets.Dataset.from_json(str(p))
        except Exception as exc:
            raise DataError(f"malformed data file {p}: {one_line(exc, 200)}") from None


def write_rows(rows: list[dict] | datasets.Dataset, path: Path) -> None:
    """Write rows as parquet atomically: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = rows.data.table if isinstance(rows, datasets.Dataset) else pa.Table.from_pylist(rows)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
