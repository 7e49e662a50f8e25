"""The invariants of a chaos run, read after it from the tracking store, the stage cache
and the two sweeps' reports: every trial finished exactly once, none left RUNNING, every
number equal to the fault-free run's, no stage trained twice for one key except where
its builder died while training it (or its entry was corrupted, or its write met the full
disk), the same report."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sweeper.runner.room import WAITING

NUMBER_PREFIXES = ("objective", "dev.", "test.", "gain.", "selection.")


def sweep_runs(uri: str, name: str) -> dict[str, Any]:
    """The sweep's parent and its child runs by role, from the tracking server."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(name)
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    parents = [r for r in runs if r.data.tags.get("sweeper.role") == "sweep"]
    children = [r for r in runs if r not in parents]
    return {"parents": parents,
            "trials": [r for r in children if r.data.tags.get("sweeper.role") == "trial"],
            "baselines": [r for r in children if r.data.tags.get("sweeper.role") == "baseline"]}


def numbers(run: Any) -> dict[str, float]:
    """What a trial found (selection, dev and test scores, gains): no timings."""
    return {k: v for k, v in run.data.metrics.items() if k.startswith(NUMBER_PREFIXES)}


def mean_trial_s(runs: dict[str, Any]) -> float | None:
    """How long a finished trial's run lasted, on average: what a fault's fixed cost (a
    driver's restart, an outage) is weighed against in the overhead."""
    spans = [(r.info.end_time - r.info.start_time) / 1000 for r in runs["trials"]
             if r.info.status == "FINISHED" and r.info.end_time and r.info.start_time]
    return round(sum(spans) / len(spans), 1) if spans else None


def trial_table(runs: dict[str, Any]) -> dict[str, list[Any]]:
    """Trial runs by the trial they belong to (its name: design position, tasks, seed)."""
    table: dict[str, list[Any]] = {}
    for run in runs["trials"]:
        table.setdefault(run.info.run_name, []).append(run)
    return table


# a build's temporary folder in the stage cache, named in a full disk's one-line error
_FULL_BUILD = re.compile(rb"no space left on [^(]*\(writing [^)]*/\.([\w-]+)\.([0-9a-f]{8})\.tmp/")


def stage_builds(cache: Path, logs: list[Path] = ()) -> dict[str, dict[str, int]]:
    """Per stage-cache key: committed builds, entries quarantined after a failed check,
    builds left half-done by a process that died while training it, and builds that met
    the full disk (their error in the trials' output, `logs`; the trial built the stage
    again once it had room)."""
    out: dict[str, Counter] = {}
    met = {m for log in logs if log.exists() for m in _FULL_BUILD.findall(log.read_bytes())}
    for key, _ in met:
        out.setdefault(key.decode(), Counter())["disk_full"] += 1
    for marker in cache.glob("*/COMPLETE"):
        out.setdefault(marker.parent.name, Counter())["committed"] += 1
    for q in (cache / ".quarantine").glob("*") if (cache / ".quarantine").exists() else []:
        out.setdefault(q.name.rsplit(".", 1)[0], Counter())["quarantined"] += 1
    for tmp in cache.glob(".*.tmp"):
        out.setdefault(tmp.name[1:].rsplit(".", 2)[0], Counter())["died"] += 1
    return {k: dict(v) for k, v in out.items()}


def full_disk_waits(outputs: list[Path]) -> int:
    """How many times a trial waited for room on a full disk, from the trial workers' own
    output (a line each time). A stage whose write met it is trained again once there
    is room; where the error names no build's folder (a library's error that names no
    file) `stage_builds` cannot say which stage, and this count is all that shows it."""
    return sum(out.read_bytes().count(WAITING.encode())
               for out in outputs if out.exists())


def check(uri: str, reference: str, chaos: str, cache: Path,
          reports: tuple[dict, dict], logs: list[Path] = ()) -> dict[str, Any]:
    """Every invariant, as numbers (0 where it holds) and a verdict per line."""
    ref, got = sweep_runs(uri, reference), sweep_runs(uri, chaos)
    want, have = trial_table(ref), trial_table(got)
    finished = {k: [r for r in v if r.info.status == "FINISHED"] for k, v in have.items()}
    lost = sorted(k for k in want if not finished.get(k))
    doubled = {k: [r.info.status for r in v] for k, v in have.items() if len(v) > 1}
    keys = Counter(_baseline_key(r) for r in got["baselines"])
    doubled.update({f"baseline {k}": [r.info.status for r in got["baselines"]
                                      if _baseline_key(r) == k]
                    for k, n in keys.items() if n > 1})
    unmatched = sorted(set(keys) - {_baseline_key(r) for r in ref["baselines"]})
    duplicates = sum(len(v) - 1 for v in doubled.values()) + len(unmatched)
    running = [r.info.run_name for part in got.values() for r in part
               if r.info.status == "RUNNING"]
    unequal = sorted(k for k in want if finished.get(k) and
                     numbers(finished[k][0]) != numbers(want[k][0]))
    builds = stage_builds(cache, logs)
    twice = {k: b for k, b in builds.items() if sum(b.values()) > 1}
    unexplained = sorted(k for k, b in twice.items() if b.get("committed", 0) > 1 or
                         not (b.get("quarantined") or b.get("died") or b.get("disk_full")))
    return {"trials": len(want), "trials_seen": len(have), "lost": len(lost),
            "lost_trials": lost, "duplicates": duplicates, "duplicate_runs": doubled,
            "baselines_not_in_the_reference": unmatched, "running_left": len(running),
            "running_runs": running, "numbers_equal": not unequal and not lost,
            "numbers_unequal": unequal,
            "parent_status": [p.info.status for p in got["parents"]],
            "trial_mean_s": mean_trial_s(ref),
            "stages_retrained": {k[:16]: b for k, b in twice.items()},
            "stages_retrained_unexplained": len(unexplained),
            "full_disk_waits": full_disk_waits([x for x in logs if x.suffix == ".out"]),
            "report_identical": _by_name(reports[0], ref) == _by_name(reports[1], got)}


def _baseline_key(run: Any) -> str:
    return run.data.tags.get("sweeper.baseline_key", "?")


def _by_name(report: str, runs: dict[str, Any]) -> str:
    """A report with its runs' ids replaced by their names (a run id is drawn anew by
    every run of a sweep; the name says which trial it is)."""
    for run in (r for part in runs.values() for r in part):
        report = report.replace(run.info.run_id, run.info.run_name)
    return report


def normalized_report(analysis: dict[str, Any], name: str) -> str:
    """A sweep's analysis as text without its own name, so that two sweeps of the same
    space compare equal when their numbers are (run ids: `_by_name`)."""
    text = json.dumps(analysis, sort_keys=True)
    return text.replace(name, "<sweep>")
