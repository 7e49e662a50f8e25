"""One trial: intermediate tasks -> English fine-tuning -> zero-shot evaluation.

`run_trial` runs the stages in order and writes, under its output folder,
`trial_config.yaml`, `metrics.json`, `languages.md`, `xtreme/{predictions,labels}/...` and
`stages/` (what each finished stage left, so a restarted trial skips it).
It takes a resolved trial (sweeper.trial.resolved: every effective value, computed
once) or plain settings, resolved here first. Collaborators are injected: `hooks`
hears progress (the Ray trainable reports and checkpoints through it), `stage_cache`
serves intermediate phases trained before. What the stages do lives beside it: `reuse`
(the stage folder, Step 1 done once), `targets` (Steps 2-4), `seeding`, `hooks`, and
`scores` (metrics.json's content and its caveats).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from sweeper import atomic
from sweeper.cache import StageCache
from sweeper.catalog import Catalog, load_catalog
from sweeper.model import levers
from sweeper.model.device import check_precision, describe, pick_device
from sweeper.model.encoders import load_encoder
from sweeper.model.heads import MultiTaskModel
from sweeper.trial import keys as trial_keys
from sweeper.trial.environment import Environment, reopen, resolve_here
from sweeper.trial.hooks import NoHooks, TrialHooks
from sweeper.trial.params import run_params
from sweeper.trial.resolved import ResolvedTrial
from sweeper.trial.reuse import finished_intermediate, prepare_stages, run_intermediate
from sweeper.trial.scores import language_table, not_comparable, score_trial
from sweeper.trial.seeding import seed_stage
from sweeper.trial.settings import TrialSettings
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.targets import run_targets

__all__ = ["NoHooks", "TrialHooks", "check_trial", "derive_keys", "run_trial"]


def derive_keys(settings: TrialSettings, catalog: Catalog) -> trial_keys.TrialKeys:
    """A trial's keys without running it (settings resolved on this machine)."""
    resolved, _ = resolve_here(settings, catalog)
    return trial_keys.trial_keys(resolved, catalog)


def check_trial(settings: TrialSettings, catalog: Catalog) -> dict[str, Any]:
    """`sweeper trial --check`: everything a trial checks before training (settings,
    model, data, retrieval layer), its effective settings and its keys; trains nothing."""
    resolved, _ = resolve_here(settings, catalog)
    keys = trial_keys.trial_keys(resolved, catalog)
    return {"keys": {"intermediate": keys.intermediate, "baseline": keys.baseline},
            "effective": run_params(resolved, catalog)}


def _context(resolved: ResolvedTrial, env: Environment, catalog: Catalog, out: Path,
             stage_dir: Path, cache: StageCache | None, key: str | None,
             hooks: TrialHooks) -> tuple[TrialContext, Path | None]:
    """The model (its encoder read once: from the finished Step 1 where there is one) on
    its device, in a context the stages share."""
    if resolved.runtime.threads:
        torch.set_num_threads(resolved.runtime.threads)
    device = pick_device(resolved.device)
    check_precision(resolved.training.precision, device)
    saved = finished_intermediate(stage_dir, cache, key)
    model = MultiTaskModel(load_encoder(resolved.model, env.tokenizer, resolved.seed,
                                        saved=saved)).to(device)
    model.use_levers(levers.build(model.encoder, resolved.runtime, device))
    ctx = TrialContext(resolved=resolved, catalog=catalog, source=env.source,
                       tokenizer=env.tokenizer, device=device,
                       precision=resolved.training.precision, out_dir=out, model=model,
                       on_log=hooks.on_log)
    return ctx, saved


def run_trial(settings: ResolvedTrial | TrialSettings, out_dir: str | Path, *,
              hooks: TrialHooks | None = None, stage_cache: StageCache | None = None,
              catalog: Catalog | None = None, env: Environment | None = None
              ) -> dict[str, Any]:
    """Run every stage of one trial; returns (and writes) metrics.json's content."""
    hooks = hooks or NoHooks()
    catalog = catalog or load_catalog()
    if isinstance(settings, TrialSettings):
        resolved, env = resolve_here(settings, catalog)
    else:
        resolved, env = settings, env or reopen(settings, catalog)
    out = Path(out_dir).resolve()
    started = time.perf_counter()
    keys = trial_keys.trial_keys(resolved, catalog)
    # every check passed: only now is anything written
    stage_dir = prepare_stages(out, keys)
    ctx, saved = _context(resolved, env, catalog, out, stage_dir, stage_cache,
                          keys.intermediate, hooks)
    (out / "trial_config.yaml").write_text(yaml.safe_dump(resolved.to_dict()["requested"],
                                                          sort_keys=False))
    hooks.on_start(keys, run_params(resolved, catalog))
    timings: dict[str, Any] = {}
    training: dict[str, Any] = {}
    skipped: list[str] = []
    if keys.intermediate:  # Step 1, skipped for the baseline: one phase for all targets
        seed_stage(resolved.seed, "intermediate")
        info = run_intermediate(ctx, stage_dir, stage_cache, keys.intermediate, saved)
        training["intermediate"] = {"history": info["history"], "cached": info["cached"],
                                    "key": info["key"], "data": info["data"]}
        timings["intermediate_s"] = info.get("seconds", 0.0)
        if info.get("resumed"):
            skipped.append("intermediate")
        hooks.on_stage("intermediate", {"cached": info["cached"]}, stage_dir)
    skipped += run_targets(ctx, stage_dir, hooks, training)
    timings.update({f"{n}_s": training[n].get("seconds", 0.0) for n in resolved.targets})
    # what the results cost, whichever run computed each stage; and this run's own time
    timings["total_s"] = sum(v for k, v in timings.items() if k.endswith("_s"))
    timings["this_run_s"] = time.perf_counter() - started
    if skipped:
        print(f"{out}: finished before, not run again: {', '.join(skipped)}", file=sys.stderr)
        timings["skipped"] = skipped
    result = score_trial(out, resolved, catalog)
    result.update(training=training, timings=timings, device=describe(ctx.device),
                  settings=run_params(resolved, catalog),
                  keys={"intermediate": keys.intermediate, "baseline": keys.baseline})
    caveats = not_comparable(training, catalog)
    if caveats:
        result["not_comparable_with_xtreme"] = caveats
        for target, why in caveats.items():
            result["protocols"]["targets"][target]["not_comparable_with_xtreme"] = why
    atomic.write_text(out / "languages.md", language_table(result, catalog))
    atomic.write_json(out / "metrics.json", result, indent=1)  # last: the trial's result
    return result
