"""The file system Ray Tune writes a sweep's storage through: every restore file is
recorded on the parent run before it lands (sweeper.runner.trust), whole.

Tune saves its state to a local staging folder and copies that folder to the storage in
a background thread, while the next save may already be rewriting it. A record taken
from the staging folder therefore need not be what the storage holds. This file system
wraps the storage's own (pyarrow.fs, as Tune uses it): a restore file written into the
sweep's folder is held in memory, hashed, its hash added to the parent run's record, and
only then written, in one piece (beside and renamed on a local disk; one put on an
object store), by a thread of its own (`_Writer`; `flush` waits for it). What the
storage holds is always among the record's versions, and a driver killed mid-copy leaves
the file before, never half of one.

Everything else (trial checkpoints and results, written from the trial workers with a
pickled copy of this file system) passes straight through, with fewer requests on an
object store (sweeper.runner.object_store).
"""

from __future__ import annotations

import io
import os
import posixpath
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import pyarrow as pa
import pyarrow.fs as pafs

from sweeper.digest import stream_digest
from sweeper.errors import one_line
from sweeper.runner import trust
from sweeper.runner.object_store import Economy


@dataclass
class Record:
    """The parent run's record of the restore files (`trust.HASHES_TAG`), kept up to
    date by the driver's writer thread (`_Writer`: one addition at a time)."""

    tracking_uri: str
    experiment: str
    parent_run_id: str
    tracker: Any = field(default=None, repr=False)  # opened on first use, kept

    def add(self, name: str, digest: str) -> None:
        """`digest` as `name`'s newest version, on the parent run before this returns
        (raises when the tracking store cannot take it: then the file is not written)."""
        from sweeper import tracking

        if self.tracker is None:
            self.tracker = tracking.Tracker(tracking.sweep_store(self.tracking_uri),
                                            self.experiment)
        trust.add(self.tracker, self.parent_run_id, {name: digest})

    def __getstate__(self) -> dict[str, Any]:  # workers get the address, not the client
        return {**self.__dict__, "tracker": None}


class _Held(io.BytesIO):
    """An output stream held in memory until it is closed, then handed on whole."""

    def __init__(self, land: Callable[[bytes], None]) -> None:
        super().__init__()
        self.land = land

    def close(self) -> None:
        if not self.closed:
            data = self.getvalue()
            super().close()
            self.land(data)


class _Writer:
    """The one thread (per process) that records and writes restore files, in the order
    they were closed; a newer version of a file replaces one still waiting. Not pyarrow's
    IO threads: Tune's copy of its staging folder runs on those, and a write to an object
    store waits on them too, so copies that held them all while waiting their turn at the
    record left none for the writes: the driver hung."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: dict[str, Callable[[], None]] = {}  # path -> its write
        self.busy = False
        self.thread: threading.Thread | None = None

    def put(self, path: str, write: Callable[[], None]) -> None:
        with self.cond:
            self.waiting.pop(path, None)
            self.waiting[path] = write
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="sweeper-state-writer",
                                               daemon=True)
                self.thread.start()
            self.cond.notify_all()

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: bool(self.waiting))
                path = next(iter(self.waiting))
                write = self.waiting.pop(path)
                self.busy = True
            try:
                write()
            except Exception as exc:  # the storage keeps the version before; Tune's next
                print(f"sweeper: {posixpath.basename(path)} not copied to the storage yet: "
                      f"{one_line(exc)}", flush=True)  # copy writes it again
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every restore file handed over has been written (or failed);
        whether that happened within `timeout` seconds."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.waiting and not self.busy, timeout)


_WRITER = _Writer()


def flush(timeout: float | None = 600) -> bool:
    """Every restore file Tune has copied so far, in the storage (the driver, once Tune
    has finished: its last copy returns before the writes behind it are done)."""
    return _WRITER.flush(timeout)


class RecordingHandler(pafs.FileSystemHandler):
    """`inner` as it is, except restore files written directly into `folder` (above)."""

    def __init__(self, inner: pafs.FileSystem, folder: str, record: Record) -> None:
        self.inner, self.folder, self.record = inner, folder.rstrip("/"), record
        self.economy = Economy(inner, folder)  # (not pickled: a copy starts afresh)

    def __reduce__(self):
        return RecordingHandler, (self.inner, self.folder, self.record)

    def _recorded(self, path: str) -> bool:
        return posixpath.dirname(path.rstrip("/")) == self.folder and \
            trust.is_restored(posixpath.basename(path))

    def _land(self, path: str, data: bytes) -> None:
        self.record.add(posixpath.basename(path), stream_digest(io.BytesIO(data)))
        if isinstance(self.inner, pafs.LocalFileSystem):  # whole or not at all
            beside = f"{path}.{os.getpid()}.partial"
            with self.inner.open_output_stream(beside) as out:
                out.write(data)
            self.inner.move(beside, path)
            return
        with self.inner.open_output_stream(path) as out:  # an object's put is whole
            out.write(data)

    def open_output_stream(self, path: str, metadata: Any) -> Any:
        if self._recorded(path):
            return pa.PythonFile(_Held(lambda data: _WRITER.put(
                path, partial(self._land, path, data))), mode="w")
        if not self.economy.remembers(path):
            return self.inner.open_output_stream(path, metadata=metadata)
        return pa.PythonFile(_Held(partial(self.economy.put_if_changed, path, metadata)),
                             mode="w")

    # everything else is the inner file system's
    def get_type_name(self) -> str:
        return f"recorded+{self.inner.type_name}"

    def normalize_path(self, path: str) -> str:
        return self.inner.normalize_path(path)

    def equals(self, other: Any) -> bool:
        return isinstance(other, RecordingHandler) and self.inner.equals(other.inner) \
            and self.folder == other.folder

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return self.inner.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self.inner.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self.economy.create_dir(path, recursive)

    def delete_dir(self, path: str) -> None:
        self.economy.forget(path)
        self.inner.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self.economy.forget(path, itself=False)
        self.inner.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        self.economy.forget("")
        self.inner.delete_dir_contents("/", accept_root_dir=True)

    def delete_file(self, path: str) -> None:
        self.economy.forget(path)
        self.inner.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self.economy.forget(src)
        self.economy.forget(dest)
        self.inner.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self.economy.forget(dest)
        self.inner.copy_file(src, dest)

    def open_input_stream(self, path: str) -> Any:
        return self.inner.open_input_stream(path)

    def open_input_file(self, path: str) -> Any:
        return self.inner.open_input_file(path)

    def open_append_stream(self, path: str, metadata: Any) -> Any:
        self.economy.forget(path)
        return self.inner.open_append_stream(path, metadata=metadata)


def recording_fs(inner: pafs.FileSystem, folder: str, record: Record) -> pafs.FileSystem:
    """`inner` with the sweep folder's restore files recorded as they are written."""
    return pafs.PyFileSystem(RecordingHandler(inner, folder, record))
