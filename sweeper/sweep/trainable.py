"""The Ray Tune function trainable: one trial on one Ray actor (GPU where there is one).

It rebuilds the trial settings from the trial's flat parameters, restores the trial's
output folder from its last checkpoint (a retried trial skips finished stages), logs
into the trial's own MLflow child run (found again by tag on retry or resume), and
reports + checkpoints at every stage boundary.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sweeper.catalog import load_catalog
from sweeper.model.device import pick_device
from sweeper.sweep import tracking
from sweeper.sweep.baselines import baseline_settings, ensure_baseline
from sweeper.sweep.deferral import WAITING
from sweeper.sweep.objective import objective
from sweeper.sweep.space import describe_params, params_to_settings
from sweeper.sweep.spec import parse_spec
from sweeper.trial.scores import gains, language_table

CHECKPOINTED = ("stages", "xtreme", "trial_config.yaml", "metrics.json")
CURVE_EVERY_S = 30.0


@dataclass(frozen=True)
class SweepContext:
    """What every trial of a sweep needs to know (plain data: shipped to workers)."""

    name: str
    sweep_id: str  # one sweep, whatever its name: tagged on every run it makes
    spec_raw: dict
    tracking_uri: str
    experiment: str
    parent_run_id: str
    cache_root: str
    cpus_per_trial: float


class TuneHooks:
    """Trial hooks that report to Tune, checkpoint, and log to MLflow."""

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
        """Tag the run with both trial keys and log the effective settings."""
        self.tracker.set_tags(self.run_id, {tracking.INTERMEDIATE_KEY_TAG: keys.intermediate or "",
                                            tracking.BASELINE_KEY_TAG: keys.baseline})
        self.tracker.log_params(self.run_id, params)

    def on_log(self, stage: str, step: int, values: dict) -> None:
        """Training-curve points, sent to MLflow in batches: at most every CURVE_EVERY_S
        seconds (a long stage still shows its curve live) and at each stage's end."""
        self.curve.append((stage, step, values))
        if time.time() - self.curve_sent >= CURVE_EVERY_S:
            self.send_curve()

    def send_curve(self) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        points = [Metric(f"train.{stage}.{k}", float(v), now, step)
                  for stage, step, values in self.curve for k, v in values.items()
                  if k != "step"]
        self.tracker.log_metric_points(self.run_id, points)
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
                       device=self.device,
                       intermediate_cached=self.cached,
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
        """Send the held report (and checkpoint) to Tune."""
        from ray import tune

        if self.pending is None:
            return
        metrics, tmp = self.pending
        self.pending = None
        try:
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def run_params(params: dict[str, Any], settings: Any, catalog: Any) -> dict[str, Any]:
    """The child run's task params: the task list readable, counts, languages (the
    effective settings follow when the trial starts, see TuneHooks.on_start)."""
    tasks = settings.tasks
    langs = sorted({lang for t in tasks for lang in catalog.task(t).languages})
    return {"tasks": ",".join(tasks) or "(none)", "task_count": len(tasks),
            "non_english_count": sum(not catalog.task(t).is_english for t in tasks),
            "translated_count": sum(catalog.task(t).is_translated for t in tasks),
            "mix": params.get("mix", ""), "intermediate_languages": ",".join(langs) or "(none)"}


def wait_if_built_elsewhere(cache: Any, entries: list[str]) -> None:
    """Another trial builds an entry this one needs: report it, so that the scheduler
    pauses this trial (a paused trial holds no GPU) until the entry is there
    (sweep.deferral). Without that scheduler the trial goes on and waits on the lock."""
    from ray import tune

    busy = [e for e in entries if not cache.has(e) and cache.busy(e)]
    if busy:
        tune.report({"objective": math.nan, WAITING: busy[0], "targets_done": 0})


def trainable(params: dict[str, Any], sweep: SweepContext) -> None:
    """Ray Tune function trainable: the whole pipeline for one parameter set."""
    from ray import tune

    from sweeper.cache import StageCache
    from sweeper.trial.run import derive_keys, run_trial

    catalog = load_catalog()
    spec = parse_spec(sweep.spec_raw, catalog, sweep.name)
    settings = params_to_settings(spec, params)
    if settings.runtime.threads is None:
        settings = settings.replace(threads=max(1, int(sweep.cpus_per_trial)))
    if not settings.tasks:  # a trial of the reference itself: served by the baseline
        settings = baseline_settings(settings)
    context = tune.get_context()
    out = Path(context.get_trial_dir()).resolve() / "trial"
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:  # a retry: start from the last finished stage
        with checkpoint.as_directory() as saved:
            shutil.copytree(saved, out, dirs_exist_ok=True)
    cache = StageCache(sweep.cache_root)
    keys = derive_keys(settings, catalog)
    inter = [keys.intermediate] if keys.intermediate else []
    wait_if_built_elsewhere(cache, inter + [f"baseline-{keys.baseline}"])
    tracker = tracking.Tracker(sweep.tracking_uri, sweep.experiment)
    protocols = settings.protocols(catalog)
    run_id = tracker.start(
        name=describe_params(params), key=f"{sweep.sweep_id}:{context.get_trial_id()}",
        parent=sweep.parent_run_id,
        tags={"sweeper.sweep": sweep.name, tracking.SWEEP_ID_TAG: sweep.sweep_id,
              "protocol": "zero_shot" if set(protocols.values()) == {"zero_shot"}
              else "not_zero_shot", "data_source": settings.data,
              "synthetic": str(settings.data == "sample").lower(), "model": settings.model,
              **{f"protocol.{t}": p for t, p in protocols.items()}})
    tracker.log_params(run_id, run_params(params, settings, catalog))
    languages = catalog.expand_languages([spec.objective_languages])
    started = time.time()
    try:
        baseline = ensure_baseline(settings, key=keys.baseline, catalog=catalog, cache=cache,
                                   tracker=tracker, sweep=sweep.sweep_id,
                                   parent_run_id=sweep.parent_run_id)
        tracker.set_tags(run_id, {tracking.BASELINE_RUN_TAG: baseline.run_id})
        wait_if_built_elsewhere(cache, inter)  # another trial may have started it meanwhile
        if not settings.tasks:
            shutil.copytree(baseline.folder, out, dirs_exist_ok=True)
        score = functools.partial(objective, languages=languages, metric=spec.objective_metric,
                                  baseline=baseline.result)
        hooks = TuneHooks(tracker, run_id, out=out, score=score, started=started,
                          last_stage=settings.targets[-1],
                          device=pick_device(settings.runtime.device).type)
        result = run_trial(settings, out, hooks=hooks, stage_cache=cache, catalog=catalog)
    except SystemExit:  # Tune stopped the trial (scheduler): not a failure
        tracker.set_tags(run_id, {"stopped_early": "true"})
        tracker.finish(run_id, "KILLED")
        raise
    except Exception:
        tracker.finish(run_id, "FAILED")
        raise

    inter = result["training"].get("intermediate")
    if inter and inter["cached"]:  # the curve of the run that trained this cached encoder
        hooks.curve += [("intermediate", point["step"], point) for point in inter["history"]]
        hooks.send_curve()
        tracker.set_tags(run_id, {"intermediate_from_cache": "true"})

    for target, why in result.get("not_comparable_with_xtreme", {}).items():
        tracker.set_tags(run_id, {f"not_comparable_with_xtreme.{target}": why})
    (out / "languages.md").write_text(language_table(result, catalog))
    for name in ("trial_config.yaml", "metrics.json", "languages.md"):
        tracker.log_artifacts(run_id, out / name)
    tracker.log_artifacts(run_id, out / "xtreme", "xtreme")
    thresholds = {f"{split}.{target}.{lang}.threshold": info["threshold"]
                  for target, stage in result["training"].items() if isinstance(stage, dict)
                  for split, langs in stage.get("evaluation", {}).items()
                  for lang, info in langs.items() if "threshold" in info}
    tracker.log_metrics(run_id, {"objective": score(result), **thresholds,
                                 "trial_seconds": time.time() - started,
                                 **(gains(result, baseline.result, catalog)
                                    if settings.tasks else {})})
    tracker.finish(run_id)
    if hooks.pending is None:  # a retry that found every stage done: report the result again
        hooks.on_stage(settings.targets[-1], result, out / "stages")
    # the whole trial, its logging included; of it, the stages (the rest is bookkeeping)
    built = baseline.result["timings"]["this_run_s"] if baseline.built_here else 0.0
    hooks.annotate(trial_seconds=time.time() - started,
                   stage_seconds=result["timings"]["this_run_s"] + built)
    hooks.flush()
