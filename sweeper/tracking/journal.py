"""A trial's tracking, journaled: every write goes first to a folder of the trial's own
and reaches the store, in order, whenever the store answers.

Why: a trial that wrote straight to a tracking server stopped training while the server
was down (its calls waited on it), and so did every trial with it: a 30 s outage cost a
sweep 30 s of every GPU. A `JournalTracker` never waits: each write is appended to
`ops.jsonl` (the files of an artifact copied beside it), and `deliver()` sends what is
not delivered yet with one try per call, stopping at the first call the store does not
answer. The folder travels in the trial's checkpoints, so what a trial could not deliver
before it ended is delivered by the driver (sweeper.runner.delivery), or by a resume.

Runs are named by their key (`TRIAL_TAG`), since run ids come from the store; a tag
value `REF + key` stands for the id of the run of that key (a trial's baseline run).
Delivering is idempotent, so a journal sent twice, or again from an older copy in a
checkpoint, leaves the store as one delivery does: a run is found again by its key,
a param keeps its first value, a tag or a status is set again, a metric point carries
the time it was journaled (MLflow keeps one of equal points), an artifact is replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sweeper.tracking.base import TRIAL_TAG, RunRecord, Store, Tracker, _text

REF = "run-key:"  # a tag value that stands for the id of another journaled run
OPS = "ops.jsonl"
DELIVERED = "delivered"  # how many ops the store has taken (written after each)
FILES = "files"  # what an artifact op sends, until it is delivered


class JournalTracker(Tracker):
    """A Tracker that journals its writes in `folder` and delivers them to `store` when
    it answers (`deliver`). Its run handles are `REF + key`; it does not read runs."""

    def __init__(self, folder: Path, store: Store, experiment: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.store, self.uri, self.experiment = store, store.uri, experiment
        self._direct: Tracker | None = None  # opened on first delivery
        self._ids: dict[str, str] = {}  # run key -> run id, as delivered
        path, ops = self.folder / OPS, self._ops()
        kept = "".join(json.dumps(op) + "\n" for op in ops)
        # a last line cut short goes (only then is the file written), so that what is
        # appended after it stays readable
        if path.exists() and path.read_text(encoding="utf-8") != kept:
            path.write_text(kept, encoding="utf-8")
        self._count = len(ops)

    @property
    def journal(self) -> Path:
        return self.folder

    # -- writes: journaled ---------------------------------------------------------------
    def start(self, name: str, key: str, tags: dict[str, str], parent: str | None = None) -> str:
        self._append({"op": "start", "key": key, "name": name, "tags": _text(tags),
                      "parent": parent})
        return REF + key

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        self._append({"op": "tags", "key": _key(run_id), "tags": _text(tags)})

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._append({"op": "params", "key": _key(run_id),
                      "params": {k: str(v)[:6000] for k, v in params.items()}})

    def log_curve(self, run_id: str, points: list[tuple[str, float, int]]) -> None:
        self._append({"op": "metrics", "key": _key(run_id), "points": self.points(points)})

    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None:
        if not local.exists():
            return
        held = self.folder / FILES / str(self._count) / local.name
        held.parent.mkdir(parents=True, exist_ok=True)
        if local.is_dir():
            shutil.copytree(local, held)
        else:
            shutil.copy2(local, held)
        self._append({"op": "artifacts", "key": _key(run_id),
                      "file": held.relative_to(self.folder).as_posix(), "path": path})

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self._append({"op": "status", "key": _key(run_id), "status": status})

    # -- reads: not from a journal --------------------------------------------------------
    def find(self, tag: str, value: str) -> str | None:
        raise TypeError("a journal writes runs; read them from the store")

    def run(self, run_id: str) -> RunRecord:
        raise TypeError("a journal writes runs; read them from the store")

    def children(self, parent: str) -> list[RunRecord]:
        raise TypeError("a journal writes runs; read them from the store")

    def handle(self, key: str) -> str:
        return REF + key

    def finished(self, key: str) -> bool:
        """Whether the store says the run of `key` is FINISHED; False when it does not
        answer (the caller journals the run again: delivering twice is harmless)."""
        from sweeper.tracking.mlflow_store import unanswered

        try:
            return self._tracker().finished(key)
        except Exception as exc:
            if unanswered(exc):
                return False
            raise

    # -- delivery -------------------------------------------------------------------------
    def pending(self) -> int:
        return self._count - self._delivered()

    def deliver(self) -> int:
        """Send the ops not delivered yet, in order, each recorded as delivered once the
        store took it; stop at the first the store does not answer (the rest waits for
        the next call). How many are left. An op the store refuses is raised."""
        from sweeper.tracking.mlflow_store import unanswered

        done = self._delivered()
        for op in self._ops()[done:]:
            try:
                self._apply(op)
            except Exception as exc:
                if unanswered(exc):
                    break
                raise
            done += 1
            self._mark(done)
            if op["op"] == "artifacts":
                shutil.rmtree(self.folder / FILES / Path(op["file"]).parts[1],
                              ignore_errors=True)
        return self._count - done

    def _apply(self, op: dict[str, Any]) -> None:
        direct, key = self._tracker(), op["key"]
        if op["op"] == "start":
            self._ids[key] = direct.start(op["name"], key, self._resolved(op["tags"]),
                                          op["parent"])
            return
        run_id = self._id(key)
        if op["op"] == "tags":
            direct.set_tags(run_id, self._resolved(op["tags"]))
        elif op["op"] == "params":
            direct.log_params(run_id, op["params"])
        elif op["op"] == "metrics":
            direct.store.log_metrics(run_id, [tuple(p) for p in op["points"]])
        elif op["op"] == "artifacts":
            direct.log_artifacts(run_id, self.folder / op["file"], op["path"])
        elif op["op"] == "status":
            direct.finish(run_id, op["status"])
        else:
            raise ValueError(f"{self.folder / OPS}: unknown op {op['op']!r}")

    def _id(self, key: str) -> str:
        """The run id of `key`: delivered by this journal, or found in the store (its
        start was delivered from another copy of the journal, or by another trial)."""
        if key not in self._ids:
            found = self._tracker().find(TRIAL_TAG, key)
            if found is None:
                raise LookupError(f"{self.folder / OPS}: no run of key {key} in "
                                  f"{self.uri} (its start op was never delivered)")
            self._ids[key] = found
        return self._ids[key]

    def _resolved(self, tags: dict[str, str]) -> dict[str, str]:
        return {k: self._id(v[len(REF):]) if v.startswith(REF) else v
                for k, v in tags.items()}

    def _tracker(self) -> Tracker:
        if self._direct is None:
            self._direct = Tracker(self.store, self.experiment)
        return self._direct

    # -- the folder -----------------------------------------------------------------------
    def _append(self, op: dict[str, Any]) -> None:
        with open(self.folder / OPS, "a", encoding="utf-8") as f:
            f.write(json.dumps(op) + "\n")
        self._count += 1

    def _ops(self) -> list[dict[str, Any]]:
        """The journal's ops; a last line cut short (a worker killed mid-write) is not one."""
        path = self.folder / OPS
        if not path.exists():
            return []
        ops = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                ops.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return ops

    def _delivered(self) -> int:
        path = self.folder / DELIVERED
        return int(path.read_text()) if path.exists() else 0

    def _mark(self, done: int) -> None:
        tmp = self.folder / f".{DELIVERED}.tmp"
        tmp.write_text(str(done))
        os.replace(tmp, self.folder / DELIVERED)


def _key(handle: str) -> str:
    if not handle.startswith(REF):
        raise ValueError(f"not a journaled run: {handle!r}")
    return handle[len(REF):]
