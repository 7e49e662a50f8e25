"""Sweep storage is code: the record that lets `resume` tell its own state from a swap.

Ray Tune restores a sweep from pickles in its storage (`tuner.pkl`, the searcher's
state, the experiment state whose trials are pickled inside JSON), so whoever can write
the storage can make `sweeper resume` run code. While a sweep runs, the driver hashes
each of those files as it writes it to the storage and keeps the hashes on the sweep's
parent run in the tracking store, outside the storage, before the file lands
(sweeper.runner.state_fs); `resume` compares the storage with that record before Ray
reads a byte of it (`check`). A callback beats a heartbeat on the parent run, so
`sweeper ls` can tell a running sweep from one whose driver died (`heartbeat`).
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from typing import Any

from sweeper.digest import stream_digest
from sweeper.errors import ConfigError, one_line
from sweeper.tracking.sweeps import HEARTBEAT_TAG

HASHES_TAG = "sweeper.storage_hashes"  # JSON {file: sha256} of what Tune restores from
RESTORED = ("tuner.pkl", "*.pkl", "experiment_state-*.json", "search_gen_state-*.json",
            "basic-variant-state-*.json")
HEARTBEAT_S = 30.0  # how often the driver says it lives (`ls` reads it: HEARTBEAT_TAG)


def is_restored(name: str) -> bool:
    """Whether Tune restores a sweep from a file of this name in its folder."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in RESTORED)


def _files(location: str) -> tuple[Any, str, list[Any]]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(location) if "://" in location else \
        (pafs.LocalFileSystem(), location)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
    wanted = [i for i in infos if i.type == pafs.FileType.File and is_restored(i.base_name)]
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
    killed after recording a file's newest version and before it landed left the one
    before."""
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


def heartbeat(tracking_uri: str, experiment: str, parent_run_id: str):
    """A Tune callback on the driver that says, on the parent run, every HEARTBEAT_S
    after a step, that the sweep's driver lives (`sweeper ls` reads it). Each beat is
    sent by a thread of its own and waits for the tracking server only as long as a
    command does: a beat missed in an outage never holds the driver's loop."""
    from ray import tune

    def beat(now: float) -> None:
        try:
            from sweeper import tracking

            tracking.Tracker(tracking.open_store(tracking_uri), experiment).set_tags(
                parent_run_id, {HEARTBEAT_TAG: f"{now:.0f}"})
        except Exception as exc:  # a heartbeat is a hint, never a reason to stop
            print(f"sweeper: could not beat the sweep's heartbeat: {one_line(exc)}")

    class Heartbeat(tune.Callback):
        def __init__(self) -> None:
            self.beat = 0.0
            self.sending: threading.Thread | None = None

        def __getstate__(self) -> dict[str, Any]:  # pickled with the Tuner: no thread
            return {"beat": self.beat, "sending": None}

        def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
            now = time.time()
            if now - self.beat < HEARTBEAT_S or (self.sending and self.sending.is_alive()):
                return
            self.beat = now
            self.sending = threading.Thread(target=beat, args=(now,), daemon=True,
                                            name="sweeper-heartbeat")
            self.sending.start()

    return Heartbeat()


def add(tracker: Any, parent_run_id: str, hashes: dict[str, str], **also: str) -> None:
    """`hashes` as each file's newest version in the parent run's record, read afresh
    (a resumed sweep, or the storage's writer, may have added to it since); `also`: more
    tags written with it."""
    before = json.loads(tracker.run(parent_run_id).tags.get(HASHES_TAG) or "{}")
    record = merged(before, hashes)
    if record != before or also:
        tracker.set_tags(parent_run_id, {HASHES_TAG: json.dumps(record, sort_keys=True),
                                         **also})


def record_now(location: str, tracker: Any, parent_run_id: str) -> None:
    """Add the storage's current restore files to the parent run's record (the driver,
    once Tune has finished and copied its last state)."""
    add(tracker, parent_run_id, storage_hashes(location),
        **{HEARTBEAT_TAG: f"{time.time():.0f}"})
