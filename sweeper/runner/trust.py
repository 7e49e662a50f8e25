"""Sweep storage is code: the record that lets `resume` tell its own state from a swap.

Ray Tune restores a sweep from pickles in its storage (`tuner.pkl`, the searcher's
state, the experiment state whose trials are pickled inside JSON), so whoever can write
the storage can make `sweeper resume` run code. While a sweep runs, the driver hashes
those files whenever they change and keeps the hashes on the sweep's parent run in the
tracking store, outside the storage (`record`); `resume` compares the storage with that
record before Ray reads a byte of it (`check`). The same callback beats a heartbeat on
the parent run, so `sweeper ls` can tell a running sweep from one whose driver died.
"""

from __future__ import annotations

import fnmatch
import json
import time
from typing import Any

from sweeper.digest import stream_digest
from sweeper.errors import ConfigError, one_line
from sweeper.tracking.sweeps import HEARTBEAT_TAG

HASHES_TAG = "sweeper.storage_hashes"  # JSON {file: sha256} of what Tune restores from
RESTORED = ("tuner.pkl", "*.pkl", "experiment_state-*.json", "search_gen_state-*.json",
            "basic-variant-state-*.json")
HEARTBEAT_S = 30.0  # how often the driver says it lives (`ls` reads it: HEARTBEAT_TAG)


def _files(location: str) -> tuple[Any, str, list[Any]]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(location) if "://" in location else \
        (pafs.LocalFileSystem(), location)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
    wanted = [i for i in infos if i.type == pafs.FileType.File
              and any(fnmatch.fnmatch(i.base_name, p) for p in RESTORED)]
    return fs, root, wanted


def storage_hashes(location: str) -> dict[str, str]:
    """SHA-256 of every file in a sweep's storage folder that Ray Tune restores from."""
    fs, _, infos = _files(location)
    out = {}
    for info in infos:
        with fs.open_input_stream(info.path) as f:
            out[info.base_name] = stream_digest(f)
    return dict(sorted(out.items()))


def check(location: str, tags: dict[str, str], *, trust: bool) -> None:
    """Refuse (ConfigError) storage whose restored files differ from the parent run's
    record, unless `trust`. The record keeps each file's last two versions: a driver
    killed while its newest state was on its way to the storage left the one before."""
    if trust:
        return
    raw = tags.get(HASHES_TAG)
    if not raw:
        raise ConfigError(f"{location}: the tracking store holds no record of this sweep's "
                          "restore files, so they cannot be checked; resume only storage "
                          "you control, with --trust-storage")
    recorded = json.loads(raw)
    found = storage_hashes(location)
    changed = sorted(n for n in found if found[n] not in recorded.get(n, []))
    if changed:
        raise ConfigError(f"{location}: {', '.join(changed)} differ from what the sweep's "
                          "driver wrote (its hashes are on the parent run); Ray Tune would "
                          "unpickle them. Resume only storage you control, with "
                          "--trust-storage")


def merged(record: dict[str, list[str]], hashes: dict[str, str]) -> dict[str, list[str]]:
    """The record with `hashes` as each file's newest version (two kept per file)."""
    out = {name: list(versions) for name, versions in record.items()}
    for name, digest in hashes.items():
        before = [v for v in out.get(name, []) if v != digest]
        out[name] = [digest] + before[:1]
    return dict(sorted(out.items()))


def recorder(location: str, tracking_uri: str, experiment: str, parent_run_id: str):
    """A Tune callback on the driver. Tune asks its callbacks for their state right after
    it has written its own to the driver's staging folder and before it copies that
    folder to the storage: there the callback hashes the restore files and puts them on
    the parent run (so the record is always ahead of the storage). After each step it
    beats the heartbeat, every HEARTBEAT_S."""
    from ray import tune

    class RecordStorage(tune.Callback):
        def __init__(self) -> None:
            self.staging: str | None = None
            self.record: dict[str, list[str]] = {}
            self.beat = 0.0
            self.loaded = False

        def _tracker(self) -> Any:
            from sweeper import tracking

            return tracking.Tracker(tracking.open_store(tracking_uri), experiment)

        def _tags(self, tags: dict[str, str]) -> None:
            try:
                self._tracker().set_tags(parent_run_id, tags)
            except Exception as exc:  # the record is a check, never a reason to stop
                print(f"sweeper: could not record the sweep's state: {one_line(exc)}")

        def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
            if self.staging is None and trials:
                self.staging = trials[0].storage.experiment_driver_staging_path

        def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
            now = time.time()
            if now - self.beat >= HEARTBEAT_S:
                self.beat = now
                self._tags({HEARTBEAT_TAG: f"{now:.0f}"})

        def get_state(self) -> dict | None:  # called as Tune saves: see above
            if not self.loaded:  # a resumed sweep adds to the record its first run made
                self.loaded = True
                self.record = json.loads(self._tracker().run(parent_run_id).tags.get(
                    HASHES_TAG) or "{}")
            hashes = storage_hashes(self.staging or location)
            record = merged(self.record, hashes)
            if record != self.record:
                self.record = record
                self._tags({HASHES_TAG: json.dumps(record, sort_keys=True)})
            return None  # nothing for Tune to pickle

    return RecordStorage()


def record_now(location: str, tracker: Any, parent_run_id: str, tags: dict[str, str]) -> None:
    """Add the storage's current restore files to the parent run's record (the driver,
    once Tune has finished and copied its last state)."""
    record = merged(json.loads(tags.get(HASHES_TAG) or "{}"), storage_hashes(location))
    tracker.set_tags(parent_run_id, {HASHES_TAG: json.dumps(record, sort_keys=True),
                                     HEARTBEAT_TAG: f"{time.time():.0f}"})
