"""One trial: intermediate tasks -> English fine-tuning -> zero-shot evaluation.

`run_trial` runs the stages in order and writes, under its output folder,
`trial_config.yaml`, `metrics.json`, `languages.md`, `xtreme/{predictions,labels}/...` and
`stages/` (what each finished stage left, so a restarted trial skips it).
It takes a resolved trial (sweeper.trial.resolved: every effective value, computed
once) or plain settings, resolved here first. Collaborators are injected: `hooks`
hears progress (the Ray trainable reports and checkpoints through it), `stage_cache`
serves intermediate phases trained before.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import yaml

from sweeper import atomic
from sweeper.cache import StageCache
from sweeper.catalog import Catalog, load_catalog
from sweeper.digest import stage_seed
from sweeper.model import levers
from sweeper.model.device import check_precision, pick_device
from sweeper.model.encoders import load_encoder
from sweeper.model.heads import MultiTaskModel
from sweeper.tasktypes.retrieval import GOLD_ONLY
from sweeper.trial import keys as trial_keys
from sweeper.trial import sharing
from sweeper.trial.environment import Environment, reopen, resolve_here
from sweeper.trial.params import run_params
from sweeper.trial.resolved import ResolvedTrial
from sweeper.trial.scores import language_table, score_trial
from sweeper.trial.settings import TrialSettings
from sweeper.trial.stages import evaluate, intermediate, target
from sweeper.trial.stages.context import TrialContext


class TrialHooks(Protocol):
    """What a trial tells the outside world (no-ops by default)."""

    def on_start(self, keys: trial_keys.TrialKeys, params: dict[str, Any]) -> None: ...

    def on_log(self, stage: str, step: int, values: dict) -> None: ...

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None: ...


class NoHooks:
    def on_start(self, keys: trial_keys.TrialKeys, params: dict[str, Any]) -> None:
        pass

    def on_log(self, stage: str, step: int, values: dict) -> None:
        pass

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None:
        pass


def seed_stage(seed: int, *stage: str) -> None:
    """Seed every global generator (Python, numpy, torch: head init, dropout) from the
    trial seed and the stage, so a stage gives the same numbers whether the stages before
    it were trained, served from the cache or resumed."""
    value = stage_seed(seed, *stage)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


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


def _finished_intermediate(stage_dir: Path, cache: StageCache | None, key: str | None
                           ) -> Path | None:
    """The saved encoder of Step 1 when it is done already (by this trial's last run, or
    in the shared cache): the trial's model is loaded from it, once."""
    if not key:
        return None
    marker = stage_dir / "intermediate.json"
    if marker.exists() and cache is None:
        return _weights(stage_dir, json.loads(marker.read_text()))
    if cache is not None:
        return cache.get(key)  # verified (a corrupt entry is quarantined and rebuilt)
    return None


def _weights(stage_dir: Path, info: dict[str, Any]) -> Path:
    """Where a finished Step 1's encoder is: in the cache (absolute), or in the trial's
    own stage folder (relative to it)."""
    path = Path(info["weights"])
    return path if path.is_absolute() else stage_dir / path


def _run_intermediate(ctx: TrialContext, stage_dir: Path, cache: StageCache | None,
                      key: str, loaded: Path | None) -> dict[str, Any]:
    """Step 1, or its output from this trial's last run or from the shared cache
    (`loaded`: the saved encoder the model was built from, if any)."""
    marker = stage_dir / "intermediate.json"
    if marker.exists() and cache is not None and cache.get(key) is None:
        marker.unlink()  # its cache entry failed its check (quarantined): train again
    if marker.exists():  # restarted trial: this stage already finished
        info = json.loads(marker.read_text())
        if loaded != _weights(stage_dir, info):
            ctx.model.load_encoder_weights(_weights(stage_dir, info))
        return {**info, "resumed": True}

    started = time.perf_counter()

    def build(dest: Path) -> None:
        done = intermediate.run(ctx)
        ctx.model.save(dest)
        (dest / "history.json").write_text(json.dumps(done.history))
        (dest / "data.json").write_text(json.dumps(done.data()))

    if cache is not None:
        weights, cached = cache.fetch_or_build(key, build)
    else:
        weights, cached = stage_dir / "intermediate", False
        tmp = stage_dir / "intermediate.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        build(tmp)
        shutil.rmtree(weights, ignore_errors=True)
        tmp.rename(weights)
    if cached and loaded != weights:  # built by another trial since this one started
        ctx.model.load_encoder_weights(weights)
    history = json.loads((weights / "history.json").read_text())
    data = json.loads((weights / "data.json").read_text())
    # the trial's own copy by its place in the stage folder (the folder may be moved)
    where = weights.name if weights.parent == stage_dir else str(weights)
    info = {"key": key, "weights": where, "cached": cached, "history": history,
            "data": data, "seconds": time.perf_counter() - started}
    atomic.write_json(marker, info)
    return info


def not_comparable(training: dict[str, Any]) -> dict[str, str]:
    """Targets whose numbers differ in kind from XTREME's, and why (from what their
    evaluators reported: BUCC mined over gold pairs only, say)."""
    out = {}
    for name, stage in training.items():
        infos = [info for langs in (stage.get("evaluation") or {}).values()
                 for info in langs.values()] if isinstance(stage, dict) else []
        if any(info.get("mining") == "gold_pairs_only" for info in infos):
            out[name] = GOLD_ONLY
    return out


def _prepare_output(out: Path, keys: trial_keys.TrialKeys) -> Path:
    """The stage folder; what an earlier run under OTHER keys left there is removed (equal
    keys: the same stages, whatever runtime settings ran them)."""
    stage_dir = out / "stages"
    stamp = stage_dir / "config.json"
    current = json.dumps({"intermediate": keys.intermediate, "baseline": keys.baseline},
                         sort_keys=True)
    if stamp.exists() and stamp.read_text() != current:
        shutil.rmtree(stage_dir)
        shutil.rmtree(out / "xtreme", ignore_errors=True)
        (out / "metrics.json").unlink(missing_ok=True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(stamp, current)
    return stage_dir


def _context(resolved: ResolvedTrial, env: Environment, catalog: Catalog, out: Path,
             stage_dir: Path, cache: StageCache | None, key: str | None,
             hooks: TrialHooks) -> tuple[TrialContext, Path | None]:
    """The model (its encoder read once: from the finished Step 1 where there is one) on
    its device, in a context the stages share."""
    if resolved.runtime.threads:
        torch.set_num_threads(resolved.runtime.threads)
    device = pick_device(resolved.device)
    check_precision(resolved.training.precision, device)
    saved = _finished_intermediate(stage_dir, cache, key)
    model = MultiTaskModel(load_encoder(resolved.model, env.tokenizer, resolved.seed,
                                        saved=saved)).to(device)
    model.use_levers(levers.build(model.encoder, resolved.runtime, device))
    ctx = TrialContext(settings=resolved, catalog=catalog, source=env.source,
                       tokenizer=env.tokenizer, device=device,
                       precision=resolved.training.precision, out_dir=out, model=model,
                       on_log=hooks.on_log)
    return ctx, saved


def _run_targets(ctx: TrialContext, stage_dir: Path, hooks: TrialHooks,
                 training: dict[str, Any]) -> list[str]:
    """Steps 2-4 for every target from the same encoder, one fine-tuning for the targets
    that share it; the targets skipped because a last run finished them."""
    resolved = ctx.settings
    encoder_state = {k: v.detach().clone() for k, v in ctx.model.encoder.state_dict().items()}
    skipped = []
    for stage, names in sharing.groups(dict(resolved.target_stages), resolved.targets):
        markers = {n: stage_dir / f"target-{n}.json" for n in names}
        todo = [n for n in names if not markers[n].exists()]
        for n in names:
            if n not in todo:
                training[n] = json.loads(markers[n].read_text())
                skipped.append(n)
        if not todo:
            continue
        tick = time.perf_counter()
        ctx.model.encoder.load_state_dict(encoder_state)
        fitted: dict[str, Any] = {"history": []}
        if stage is not None:  # Step 3: English fine-tuning (retrieval: none, Step 2)
            seed_stage(resolved.seed, "target", stage.split("@")[0])
            done = target.run(ctx, ctx.catalog.task(todo[0]), stage)
            fitted = {"history": done.history, "stage": stage, "shared_with": names}
        train_s = time.perf_counter() - tick
        for n in todo:  # Step 4 (Step 2 for retrieval)
            training[n] = _evaluate(ctx, ctx.catalog.task(n), fitted, train_s)
            train_s = 0.0  # a shared training is paid once, by its first target
            atomic.write_json(markers[n], training[n])
            hooks.on_stage(n, score_trial(ctx.out_dir, resolved, ctx.catalog), stage_dir)
    return skipped


def _evaluate(ctx: TrialContext, spec: Any, fitted: dict[str, Any], train_s: float
              ) -> dict[str, Any]:
    tick = time.perf_counter()
    evaluation = evaluate.run(ctx, spec)
    eval_s = time.perf_counter() - tick
    out = {**fitted, "train_s": train_s, "eval_s": eval_s, "seconds": train_s + eval_s}
    if evaluation:
        out["evaluation"] = evaluation
    return out


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
    stage_dir = _prepare_output(out, keys)
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
        info = _run_intermediate(ctx, stage_dir, stage_cache, keys.intermediate, saved)
        training["intermediate"] = {"history": info["history"], "cached": info["cached"],
                                    "key": info["key"], "data": info["data"]}
        timings["intermediate_s"] = info.get("seconds", 0.0)
        if info.get("resumed"):
            skipped.append("intermediate")
        hooks.on_stage("intermediate", {"cached": info["cached"]}, stage_dir)
    skipped += _run_targets(ctx, stage_dir, hooks, training)
    timings.update({f"{n}_s": training[n].get("seconds", 0.0) for n in resolved.targets})
    # what the results cost, whichever run computed each stage; and this run's own time
    timings["total_s"] = sum(v for k, v in timings.items() if k.endswith("_s"))
    timings["this_run_s"] = time.perf_counter() - started
    if skipped:
        print(f"{out}: finished before, not run again: {', '.join(skipped)}", file=sys.stderr)
        timings["skipped"] = skipped
    result = score_trial(out, resolved, catalog)
    result.update(training=training, timings=timings, settings=run_params(resolved, catalog),
                  keys={"intermediate": keys.intermediate, "baseline": keys.baseline})
    caveats = not_comparable(training)
    if caveats:
        result["not_comparable_with_xtreme"] = caveats
        for target, why in caveats.items():
            result["protocols"]["targets"][target]["not_comparable_with_xtreme"] = why
    atomic.write_text(out / "languages.md", language_table(result, catalog))
    atomic.write_json(out / "metrics.json", result, indent=1)  # last: the trial's result
    return result

