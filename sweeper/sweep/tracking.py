"""MLflow: one experiment per sweep, a parent run per sweep, a child run per trial.

The only module that imports mlflow. It uses `MlflowClient` with explicit run ids (no
global active run), so a Ray worker, a retried trial and a resumed sweep all log into
the runs they own: a child run is found again by its `sweeper.trial_key` tag.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sweeper.errors import SweeperError
from sweeper.scoring.xtreme import target_results

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "sweeper.trial_key"
ROLE_TAG = "sweeper.role"
SWEEP_ID_TAG = "sweeper.sweep_id"  # one sweep (names can repeat; ids do not)
INTERMEDIATE_KEY_TAG = "sweeper.intermediate_key"  # equal: the same intermediate phase
BASELINE_KEY_TAG = "sweeper.baseline_key"  # equal: comparable, gains are measured within
BASELINE_RUN_TAG = "sweeper.baseline_run"  # the run a trial's gains are measured against


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def default_uri(storage: Path) -> str:
    """A sqlite file in the sweep's storage folder (absolute, as trials change cwd)."""
    return f"sqlite:///{(storage / 'mlflow.db').resolve()}"


def artifact_root(uri: str, storage: str, remote_storage: bool) -> Path | None:
    """Where a new experiment keeps its artifacts: under a local storage folder; beside
    an sqlite store when the storage is a URI; a tracking server's own otherwise. Never
    MLflow's fallback, ./mlruns in whatever folder the command ran from."""
    if not remote_storage:
        return Path(storage) / "mlartifacts"
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):]).parent / "mlartifacts"
    return None


class Tracker:
    """Runs of one experiment on one tracking server or store."""

    def __init__(self, uri: str, experiment: str, artifact_root: Path | None = None):
        self.uri = uri
        self.client = _client(uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                location = None
                if artifact_root is not None and not uri.startswith(("http://", "https://")):
                    location = Path(artifact_root).resolve().as_uri()
                self.experiment_id = self.client.create_experiment(experiment, location)
            else:
                self.experiment_id = found.experiment_id
        except SweeperError:
            raise
        except Exception as exc:
            raise SweeperError(f"MLflow tracking at {uri} is not usable: "
                               f"{str(exc).strip().splitlines()[0][:200]}") from None

    def find(self, tag: str, value: str) -> str | None:
        runs = self.client.search_runs([self.experiment_id], f"tags.`{tag}` = '{value}'",
                                       max_results=1, order_by=["attributes.start_time DESC"])
        return runs[0].info.run_id if runs else None

    def start(self, name: str, key: str, tags: dict[str, str], parent: str | None = None) -> str:
        """The run tagged `key` (created the first time, reopened after that)."""
        run_id = self.find(TRIAL_TAG, key)
        all_tags = {TRIAL_TAG: key, **tags}
        if parent:
            all_tags[PARENT_TAG] = parent
        if run_id is None:
            run_id = self.client.create_run(self.experiment_id, run_name=name,
                                            tags=all_tags).info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
            self.set_tags(run_id, all_tags)
        return run_id

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        existing = self.client.get_run(run_id).data.params
        new = [Param(k, str(v)[:6000]) for k, v in params.items() if k not in existing]
        for i in range(0, len(new), 100):
            self.client.log_batch(run_id, params=new[i:i + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.log_metric_points(run_id, [Metric(k, float(v), now, step)
                                        for k, v in metrics.items()])

    def log_metric_points(self, run_id: str, points: list[Any]) -> None:
        """MLflow Metric entities (several steps at once), NaNs left out, in batches of
        MLflow's limit per call."""
        batch = [m for m in points if m.value == m.value]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i:i + 1000])

    def log_artifacts(self, run_id: str, local: Path, path: str | None = None) -> None:
        if local.is_dir():
            self.client.log_artifacts(run_id, str(local), path)
        elif local.exists():
            self.client.log_artifact(run_id, str(local), path)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    def children(self, parent: str) -> list[Any]:
        """Every child run of `parent` (for reports and tests)."""
        return self.client.search_runs([self.experiment_id], f"tags.`{PARENT_TAG}` = '{parent}'",
                                       max_results=10000)


def trial_metrics(result: dict[str, Any]) -> dict[str, float]:
    """Flatten a trial's metrics.json into MLflow metric names, the split first:

    <split>.<target>.<lang>.<metric>, <split>.<target>.avg, <split>.<target>.tier.<tier>,
    <split>.xtreme.<group> for split dev (selection) and test (reported).
    """
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
    return out


def run_rows(runs: list[Any]) -> list[dict[str, Any]]:
    """MLflow runs as plain dicts (what the report computes on)."""
    return [{"run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
             "params": dict(r.data.params), "tags": dict(r.data.tags),
             "metrics": dict(r.data.metrics)} for r in runs]


def store_uri(uri: str | None, storage: str | Path) -> str:
    """The tracking store a read-only command reads: `uri`, $MLFLOW_TRACKING_URI, or the
    sqlite file in `storage`. A sqlite file that does not exist is an error (reading must
    not create a store)."""
    import os

    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(Path(storage))
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.is_file():
            raise SweeperError(f"no MLflow store at {path} (give --tracking-uri or --storage)")
    return uri


def list_sweeps(uri: str) -> list[dict[str, Any]]:
    """Every sweep of a store: name, status, start, and its trials by status."""
    client = _client(uri)
    try:
        experiments = client.search_experiments()
    except Exception as exc:
        raise SweeperError(f"MLflow tracking at {uri} is not usable: "
                           f"{str(exc).strip().splitlines()[0][:200]}") from None
    out = []
    for exp in experiments:
        parents = client.search_runs([exp.experiment_id], f"tags.`{ROLE_TAG}` = 'sweep'",
                                     max_results=100)
        for parent in parents:
            runs = client.search_runs([exp.experiment_id],
                                      f"tags.`{PARENT_TAG}` = '{parent.info.run_id}'",
                                      max_results=10000)
            trials = [r for r in runs if r.data.tags.get(ROLE_TAG, "trial") == "trial"]
            counts: dict[str, int] = {}
            for r in trials:
                counts[r.info.status] = counts.get(r.info.status, 0) + 1
            out.append({"sweep": exp.name, "run_id": parent.info.run_id,
                        "sweep_id": parent.data.tags.get(SWEEP_ID_TAG, "-"),
                        "status": parent.info.status, "started": parent.info.start_time,
                        "trials": len(trials), "by_status": counts,
                        "baselines": len(runs) - len(trials)})
    return sorted(out, key=lambda r: r["started"] or 0)


def sweep_parents(uri: str, name: str) -> list[Any]:
    """The parent runs of the sweeps called `name` in a store (none if the store or the
    experiment does not exist yet; a sqlite file is not created by asking)."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        return []
    client = _client(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], f"tags.`{ROLE_TAG}` = 'sweep'",
                              max_results=100)


def open_sweep(uri: str, name_or_run: str) -> tuple[Tracker, str]:
    """(tracker, parent run id) of exactly one sweep, given its name (when one sweep has
    it), its sweep id, or a run id of it."""
    client = _client(uri)
    try:
        experiment = client.get_experiment_by_name(name_or_run)
        parent = None
        if experiment is None:
            found = [r for e in client.search_experiments() for r in client.search_runs(
                [e.experiment_id], f"tags.`{SWEEP_ID_TAG}` = '{name_or_run}' and "
                f"tags.`{ROLE_TAG}` = 'sweep'", max_results=1)]
            run = found[0] if found else client.get_run(name_or_run)  # a parent or a child
            experiment = client.get_experiment(run.info.experiment_id)
            parent = run.data.tags.get(PARENT_TAG, run.info.run_id)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SweeperError(f"no sweep or run '{name_or_run}' at {uri} ({first})") from None
    tracker = Tracker(uri, experiment.name)
    if parent is None:
        parents = sweep_parents(uri, experiment.name)
        if not parents:
            raise SweeperError(f"experiment '{name_or_run}' at {uri} has no sweep parent run")
        if len(parents) > 1:
            ids = ", ".join(p.data.tags.get(SWEEP_ID_TAG, p.info.run_id) for p in parents)
            raise SweeperError(f"{len(parents)} sweeps are called '{name_or_run}' at {uri}: "
                               f"give one sweep id ({ids}; see `sweeper ls`)")
        parent = parents[0].info.run_id
    return tracker, parent
