"""A sweep's folder in its storage, a local path or a URI (file://, s3://, gs://), read
and written through the filesystems Ray Tune itself uses (pyarrow.fs), so the sweep's
state sits beside Tune's experiment state wherever that is."""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs

from sweeper import atomic
from sweeper.errors import ConfigError, one_line


def is_uri(location: str) -> bool:
    return "://" in location


def open_fs(location: str) -> tuple[pafs.FileSystem, str]:
    """The file system of a storage URI and the location's path on it. On S3 a file is
    written in one request (a put) instead of three (a multipart upload's start, part and
    end): pyarrow starts an upload only once a part is full (`allow_delayed_open`), and a
    sweep's files (trial results, checkpoints of stage outputs) are far smaller than one;
    a write that fails then fails when its file is closed. And a file is written by the
    thread that closes it (no `background_writes`): Tune copies a folder on pyarrow's IO
    threads, and a close there that waited for a write queued behind it on those same
    threads hung once every thread was so waiting (apache/arrow#32372)."""
    fs, path = pafs.FileSystem.from_uri(location)
    if isinstance(fs, pafs.S3FileSystem):
        _, (options,) = fs.__reduce__()  # pyarrow's own picklable options
        fs = pafs.S3FileSystem(**{**options, "allow_delayed_open": True,
                                  "background_writes": False})
    return fs, path


class SweepFolder:
    """`<storage>/<folder>`: read and write small text files in it."""

    def __init__(self, storage: str, folder: str):
        self.storage = storage if is_uri(storage) else str(Path(storage).resolve())
        self.folder = folder
        self.location = f"{self.storage.rstrip('/')}/{folder}"
        try:
            self.fs, self.root = open_fs(self.location) if is_uri(storage) \
                else (pafs.LocalFileSystem(), self.location)
        except Exception as exc:
            raise ConfigError(f"storage {storage} is not usable: "
                              f"{one_line(exc, 200)}") from None

    @property
    def base_root(self) -> str:
        """The storage's own path on `fs` (the folder's parent)."""
        return self.root[: -len(self.folder)].rstrip("/")

    def exists(self, name: str) -> bool:
        info = self.fs.get_file_info(f"{self.root}/{name}")
        return info.type == pafs.FileType.File

    def read_text(self, name: str) -> str:
        with self.fs.open_input_stream(f"{self.root}/{name}") as f:
            return f.read().decode("utf-8")

    def write_text(self, name: str, text: str) -> None:
        """Whole or not at all: a local file is written beside and renamed (an object
        store's put is atomic by itself)."""
        self.fs.create_dir(self.root, recursive=True)
        if not is_uri(self.storage):
            atomic.write_text(Path(self.root) / name, text)
            return
        with self.fs.open_output_stream(f"{self.root}/{name}") as f:
            f.write(text.encode("utf-8"))

    def prune_checkpoints(self) -> int:
        """Every trial's checkpoints but its latest removed; how many. Only for a sweep
        that has finished: while it runs, Tune's experiment state in storage may still
        point at an older one (sweeper.runner.tune keeps them all until then)."""
        removed = 0
        for trial in self.fs.get_file_info(pafs.FileSelector(self.root)):
            if trial.type != pafs.FileType.Directory or \
                    not trial.base_name.startswith("sweeper_trial_"):
                continue
            saved = sorted(c.path for c in self.fs.get_file_info(pafs.FileSelector(trial.path))
                           if c.type == pafs.FileType.Directory
                           and c.base_name.startswith("checkpoint_"))
            for old in saved[:-1]:
                self.fs.delete_dir(old)
                removed += 1
        return removed
