"""Tracking behind one small interface: a `Store` of experiments and runs, and the logic
the sweep builds on it (`Tracker`: one experiment's runs found again by key).

A sweep is one experiment; it has a parent run, one child run per trial and one per
baseline it built, each child found again by its `sweeper.trial_key` tag, so a Ray
worker, a retried trial and a resumed sweep all log into the runs they own. The store
behind it is MLflow (`mlflow_store.MlflowStore`, the only module that imports mlflow)
or, for tests, `memory.MemoryStore`; one contract suite runs over both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: the UI folds children under it
TRIAL_TAG = "sweeper.trial_key"  # finds a run again: <sweep id>:<trial id>, ...:sweep, ...
ROLE_TAG = "sweeper.role"  # sweep, trial or baseline
SWEEP_ID_TAG = "sweeper.sweep_id"  # one sweep (names can repeat; ids do not)
SWEEP_NAME_TAG = "sweeper.sweep"
FOLDER_TAG = "sweeper.folder"  # the sweep's folder in its storage
INTERMEDIATE_KEY_TAG = "sweeper.intermediate_key"  # equal: the same intermediate phase
BASELINE_KEY_TAG = "sweeper.baseline_key"  # equal: comparable, gains are measured within
BASELINE_RUN_TAG = "sweeper.baseline_run"  # the run a trial's gains are measured against
CHAIN_TAG = "sweeper.chain"  # chain designs: the chain a trial belongs to
CHAIN_ADDED_TAG = "sweeper.chain_added"  # ... and the task its position adds
ARM_TAG = "sweeper.budget_arm"  # budget arms: the arm a trial ran under
RUNG_TAG = "sweeper.rung"  # fidelity ladders: the rung a trial ran at
RUNG_LEVEL_TAG = "sweeper.rung_level"  # ... its place on the ladder, 0 the cheapest
VIA_TAG = "sweeper.rung_via"  # ... and how its set got there (start, promoted, audited, ...)
STOPPED_TAG = "stopped_early"  # "true": a scheduler (or a stopped driver) ended the trial
STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")


@dataclass
class RunRecord:
    """One run as the report and the sweep read it."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int  # ms since the epoch
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value of each

    def row(self) -> dict[str, Any]:
        """As a plain dict (what the report computes on)."""
        return {"run_id": self.run_id, "name": self.name, "status": self.status,
                "params": dict(self.params), "tags": dict(self.tags),
                "metrics": dict(self.metrics)}


class Store(Protocol):
    """A tracking store: experiments by name, runs with params, tags, metrics, artifacts.
    Params are written once (a second value for a name is ignored); a search returns the
    newest runs first."""

    uri: str

    def experiment(self, name: str, *, create: bool = False,
                   artifact_root: Path | None = None) -> str | None: ...

    def experiment_name(self, experiment_id: str) -> str: ...

    def experiments(self) -> list[str]: ...

    def create_run(self, experiment_id: str, name: str, tags: dict[str, str]) -> str: ...

    def run(self, run_id: str) -> RunRecord: ...

    def search(self, experiment_ids: list[str], tags: dict[str, str],
               limit: int = 10000) -> list[RunRecord]: ...

    def set_status(self, run_id: str, status: str) -> None: ...

    def delete_run(self, run_id: str) -> None: ...

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None: ...

    def log_params(self, run_id: str, params: dict[str, str]) -> None: ...

    def log_metrics(self, run_id: str, points: list[tuple[str, float, int, int]]) -> None: ...

    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None: ...

    def artifacts(self, run_id: str, path: str | None = None) -> list[str]: ...

    def read_artifact(self, run_id: str, path: str) -> bytes | None: ...


# How a run ended before, reset when it is reopened: a trial whose worker was stopped
# (its driver killed) and that a resume then finishes is not "stopped early".
REOPENED = {STOPPED_TAG: "false"}


class Tracker:
    """The runs of one experiment (one sweep's name) in one store."""

    def __init__(self, store: Store, experiment: str, artifact_root: Path | None = None):
        self.store = store
        self.uri = store.uri
        found = store.experiment(experiment, create=True, artifact_root=artifact_root)
        assert found is not None
        self.experiment_id = found
        self.experiment = experiment

    def find(self, tag: str, value: str) -> str | None:
        runs = self.store.search([self.experiment_id], {tag: value}, limit=1)
        return runs[0].run_id if runs else None

    def run(self, run_id: str) -> RunRecord:
        return self.store.run(run_id)

    def start(self, name: str, key: str, tags: dict[str, str], parent: str | None = None) -> str:
        """The run tagged `key`: created the first time, reopened (RUNNING) after that."""
        run_id = self.find(TRIAL_TAG, key)
        all_tags = {TRIAL_TAG: key, **tags}
        if parent:
            all_tags[PARENT_TAG] = parent
        if run_id is None:
            self.store.create_run(self.experiment_id, name, _text(all_tags))
            return self._one(key)
        self.store.set_status(run_id, "RUNNING")
        self.store.set_tags(run_id, _text({**REOPENED, **all_tags}))
        return run_id

    def _one(self, key: str) -> str:
        """The one run tagged `key`, just created. A request to create it that the store
        carried out but whose answer was lost (the server stopped mid-request) is sent
        again by the client and makes a second run: all but the first (oldest, then
        lowest id: every process picks the same) are deleted before anything is logged."""
        runs = self.store.search([self.experiment_id], {TRIAL_TAG: key})
        keep = min(runs, key=lambda r: (r.start_time, r.run_id))
        for run in runs:
            if run.run_id != keep.run_id:
                self.store.delete_run(run.run_id)
        return keep.run_id

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        self.store.set_tags(run_id, _text(tags))

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        """Params not logged before (a param keeps its first value)."""
        self.store.log_params(run_id, {k: str(v)[:6000] for k, v in params.items()})

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        self.log_curve(run_id, [(k, v, step) for k, v in metrics.items()])

    def log_curve(self, run_id: str, points: list[tuple[str, float, int]]) -> None:
        """(name, value, step) points at once; NaNs left out."""
        self.store.log_metrics(run_id, self.points(points))

    @staticmethod
    def points(points: list[tuple[str, float, int]]) -> list[tuple[str, float, int, int]]:
        """(name, value, step, time in ms) as the store takes them, NaNs left out."""
        now = int(time.time() * 1000)
        return [(k, float(v), int(s), now) for k, v, s in points if float(v) == float(v)]

    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None:
        if local.exists():
            self.store.log_artifacts(run_id, local, path)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.store.set_status(run_id, status)

    def children(self, parent: str) -> list[RunRecord]:
        """Every child run of `parent`."""
        return self.store.search([self.experiment_id], {PARENT_TAG: parent})

    def handle(self, key: str) -> str | None:
        """What names the run of `key` in this tracker's writes: its id."""
        return self.find(TRIAL_TAG, key)

    def finished(self, key: str) -> bool:
        """Whether the run of `key` is there and FINISHED."""
        run_id = self.find(TRIAL_TAG, key)
        return run_id is not None and self.run(run_id).status == "FINISHED"

    # A tracker that writes straight to its store has nothing to deliver (a journaled one
    # does: sweeper.tracking.journal)
    journal: Path | None = None

    def deliver(self) -> int:
        """Send what is not in the store yet; how many writes are left (none here)."""
        return 0


def _text(tags: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in tags.items()}


def trial_metrics(result: dict[str, Any]) -> dict[str, float]:
    """Flatten a trial's metrics.json into metric names, the split first:

    <split>.<target>.<lang>.<metric>, <split>.<target>.avg, <split>.<target>.tier.<tier>,
    <split>.xtreme.<group> for split dev (selection) and test (reported).
    """
    from sweeper.scoring.xtreme import target_results

    out: dict[str, float] = {}
    for split in ("dev", "test"):
        scored = result.get(split, {})
        for task, _, langs in target_results(result, split):
            for lang, values in langs.items():
                for metric, v in values.items():
                    out[f"{split}.{task}.{lang}.{metric}"] = v
            summary = scored.get("summary", {}).get(task, {})
            if "avg_metric" in summary:
                out[f"{split}.{task}.avg"] = summary["avg_metric"]
            for tier, v in summary.get("tiers", {}).items():
                out[f"{split}.{task}.tier.{tier}"] = v
        for group, v in scored.get("xtreme", {}).get("overall_scores", {}).items():
            out[f"{split}.xtreme.{group}"] = v
    out.update(data_metrics(result))
    return out


DATA_TOTALS = ("examples_seen", "distinct_examples", "max_passes", "mean_passes", "steps",
               "planned_steps")


def data_metrics(result: dict[str, Any]) -> dict[str, float]:
    """What the intermediate phase really trained on, as metric names
    `intermediate.<total>` and `intermediate.<task>.{examples_seen,distinct,passes}`: the
    covariates the report adjusts the count effect for. None for a baseline."""
    data = (result.get("training", {}).get("intermediate") or {}).get("data")
    if not data:
        return {}
    out = {f"intermediate.{k}": float(data[k]) for k in DATA_TOTALS if k in data}
    for task, values in data.get("tasks", {}).items():
        out.update({f"intermediate.{task}.{k}": float(v) for k, v in values.items()})
    return out
