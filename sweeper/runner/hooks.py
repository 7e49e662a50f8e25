"""What a trial tells Ray Tune and its run while it runs: a report and a checkpoint at
every stage boundary, its training curves in batches."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from sweeper import tracking

CHECKPOINTED = ("stages", "xtreme", "trial_config.yaml", "metrics.json")
CURVE_EVERY_S = 30.0
JOURNAL = "tracking"  # the run's journal in the trial folder and its checkpoints
JOURNAL_PENDING = "journal_pending"  # in a report: the journal's writes not delivered yet


class TuneHooks:
    """Trial hooks that report to Tune, checkpoint, and log to the trial's run."""

    def __init__(self, tracker: tracking.Tracker, run_id: str, *, out: Path,
                 score: Callable[[dict[str, Any]], float], started: float, last_stage: str,
                 device: str = ""):
        self.tracker, self.run_id, self.out = tracker, run_id, out
        self.device = device  # what the trial computes on (cpu, cuda): in every report
        self.score = score  # the objective of a (partial) result: dev numbers only
        self.started = started
        self.last_stage = last_stage
        self.pending: tuple[dict, Path] | None = None
        self.cached: float = -1.0  # -1: no intermediate phase, 0: trained, 1: from cache
        self.key = ""
        self.curve: list[tuple[str, int, dict]] = []  # curve points not yet sent
        self.curve_sent = time.time()

    def on_start(self, keys: Any, params: dict[str, Any]) -> None:
        """Params are logged by the trainable (sweeper.runner.runs) before the trial runs."""

    def on_log(self, stage: str, step: int, values: dict) -> None:
        """Training-curve points, sent in batches: at most every CURVE_EVERY_S seconds (a
        long stage still shows its curve live) and at each stage's end."""
        self.curve.append((stage, step, values))
        if time.time() - self.curve_sent >= CURVE_EVERY_S:
            self.send_curve()
            self.tracker.deliver()  # (at a stage's end, its report's flush delivers)

    def send_curve(self) -> None:
        self.tracker.log_curve(self.run_id, [(f"train.{stage}.{k}", v, step)
                                             for stage, step, values in self.curve
                                             for k, v in values.items() if k != "step"])
        self.curve, self.curve_sent = [], time.time()

    def on_stage(self, stage: str, result: dict[str, Any], stage_dir: Path) -> None:
        """Hold this stage's report and checkpoint; send it now unless it is the last."""
        self.send_curve()
        metrics: dict[str, Any] = {"objective": math.nan}
        if stage == "intermediate":
            self.cached = float(result["cached"])
            self.key = json.loads((stage_dir / "intermediate.json").read_text())["key"]
        else:
            metrics["objective"] = self.score(result)
            for task, summary in result["dev"]["summary"].items():
                metrics[f"dev.{task}.avg"] = summary["avg_metric"]
            self.tracker.log_metrics(self.run_id, tracking.trial_metrics(result))
        import ray

        done = len(result.get("test", {}).get("summary", {}))  # targets scored so far
        metrics.update(targets_done=done, node=ray.get_runtime_context().get_node_id(),
                       device=self.device, intermediate_cached=self.cached,
                       intermediate_key=self.key, trial_seconds=time.time() - self.started)
        tmp = Path(tempfile.mkdtemp(prefix="sweeper-ckpt-"))
        for name in CHECKPOINTED:
            src = self.out / name
            if src.is_dir():
                shutil.copytree(src, tmp / name)
            elif src.exists():
                shutil.copy2(src, tmp / name)
        self.pending = (metrics, tmp)
        if stage != self.last_stage:  # the last report waits until the run is closed:
            self.flush()              # Tune may stop the trial right at it

    def annotate(self, **values: Any) -> None:
        """Add values to the report held back for the end of the trial."""
        if self.pending is not None:
            self.pending[0].update(values)

    def flush(self) -> None:
        """Send the held report (and checkpoint) to Tune. What the run's journal could not
        deliver yet (the tracking server is down) travels in the checkpoint, and the
        report says how much (`journal_pending`: the driver delivers it once the trial
        has ended, sweeper.runner.delivery)."""
        from ray import tune

        if self.pending is None:
            return
        metrics, tmp = self.pending
        self.pending = None
        metrics[JOURNAL_PENDING] = self.tracker.deliver()
        if self.tracker.journal is not None:
            shutil.copytree(self.tracker.journal, tmp / JOURNAL)
        try:
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
