"""One trial: intermediate tasks -> English fine-tuning -> zero-shot evaluation.

`run_trial` runs the stages in order and writes, under its output folder,
`trial_config.yaml`, `metrics.json`, `xtreme/{predictions,labels}/...` and
`stages/` (what each finished stage left, so a restarted trial skips it).
Collaborators are injected: `hooks` hears progress (the Ray trainable reports and
checkpoints through it), `stage_cache` serves intermediate phases trained before.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import yaml

from sweeper.scoring import xtreme
from sweeper.catalog import Catalog, load_catalog
from sweeper.trial.settings import TrialConfig
from sweeper.data.sources import make_source
from sweeper.model.heads import MultiTaskModel
from sweeper.model.encoders import load_encoder, load_tokenizer
from sweeper.trial.stages import TrialContext, evaluate, intermediate, target


class TrialHooks(Protocol):
    """What a trial tells the outside world (no-ops by default)."""

    def on_log(self, stage: str, step: int, values: dict) -> None: ...

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None: ...


class NoHooks:
    def on_log(self, stage: str, step: int, values: dict) -> None:
        pass

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None:
        pass


class StageCache(Protocol):
    """Content-addressed store of intermediate-phase encoders (see sweeper.cache)."""

    def fetch_or_build(self, key: str, build: Any) -> tuple[Path, bool]: ...


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from sweeper.errors import ConfigError

        raise ConfigError("device 'cuda' asked for, but no GPU is visible")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def intermediate_key(config: TrialConfig, source_version: str) -> str:
    """Hash of everything that determines the intermediate phase's encoder."""
    import hashlib

    c = config
    parts = {"model": c.model, "tasks": list(c.intermediate), "sampling": c.sampling,
             "temperature": c.temperature if c.sampling == "temperature" else None,
             "lr": c.effective_lr(), "batch_size": c.batch_size, "epochs": c.intermediate_epochs,
             "max_seq_len": c.max_seq_len, "weight_decay": c.weight_decay,
             "warmup_ratio": c.warmup_ratio, "grad_accum": c.grad_accum, "seed": c.seed,
             "max_train_examples": c.max_train_examples, "data": source_version,
             "version": 1}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def _run_intermediate(ctx: TrialContext, stage_dir: Path, cache: StageCache | None,
                      key: str) -> dict[str, Any]:
    """Step 1, or its output from this trial's last run or from the shared cache."""
    marker = stage_dir / "intermediate.json"
    if marker.exists():  # restarted trial: this stage already finished
        info = json.loads(marker.read_text())
        ctx.model.load_encoder_weights(Path(info["weights"]))
        return {**info, "resumed": True}

    def build(dest: Path) -> None:
        history = intermediate.run(ctx)
        ctx.model.save(dest)
        (dest / "history.json").write_text(json.dumps(history))

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
    if cached:
        ctx.model.load_encoder_weights(weights)
    history = json.loads((weights / "history.json").read_text())
    info = {"key": key, "weights": str(weights), "cached": cached, "history": history}
    marker.write_text(json.dumps(info))
    return info


def _prepare_output(out: Path, config: TrialConfig) -> Path:
    """The stage folder; what an earlier run with OTHER settings left there is removed."""
    stage_dir = out / "stages"
    stamp = stage_dir / "config.json"
    current = json.dumps(config.to_dict(), sort_keys=True)
    if stamp.exists() and stamp.read_text() != current:
        shutil.rmtree(stage_dir)
        shutil.rmtree(out / "xtreme", ignore_errors=True)
        (out / "metrics.json").unlink(missing_ok=True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return stage_dir


def run_trial(config: TrialConfig, out_dir: str | Path, hooks: TrialHooks | None = None,
              stage_cache: StageCache | None = None, catalog: Catalog | None = None
              ) -> dict[str, Any]:
    """Run every stage of one trial; returns (and writes) metrics.json's content."""
    hooks = hooks or NoHooks()
    catalog = catalog or load_catalog()
    config.validate(catalog)
    out = Path(out_dir).resolve()
    stage_dir = _prepare_output(out, config)
    (out / "trial_config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    started = time.perf_counter()
    seed_everything(config.seed)
    device = pick_device(config.device)
    source = make_source(config.data, catalog, config.cache_root())
    tokenizer = load_tokenizer(config.model, catalog, config.cache_root())
    model = MultiTaskModel(load_encoder(config.model, tokenizer, config.seed)).to(device)
    ctx = TrialContext(config, catalog, source, tokenizer, device, out, model,
                       on_log=hooks.on_log)
    timings: dict[str, float] = {}
    training: dict[str, Any] = {}

    # Step 1: intermediate tasks (skipped for the baseline), one phase for all targets.
    tick = time.perf_counter()
    if config.intermediate:
        info = _run_intermediate(ctx, stage_dir, stage_cache,
                                 intermediate_key(config, source.version()))
        training["intermediate"] = {"history": info["history"], "cached": info["cached"],
                                    "key": info["key"]}
        hooks.on_stage("intermediate", {"cached": info["cached"]}, stage_dir)
    timings["intermediate_s"] = time.perf_counter() - tick
    encoder_state = {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}

    for name in config.targets:
        spec = catalog.task(name)
        marker = stage_dir / f"target-{name}.json"
        if marker.exists():
            training[name] = json.loads(marker.read_text())
            continue
        tick = time.perf_counter()
        model.encoder.load_state_dict(encoder_state)
        if spec.needs_training:  # Step 3: English fine-tuning (retrieval: none, Step 2)
            training[name] = {"history": target.run(ctx, spec)}
        else:
            training[name] = {"history": []}
        evaluate.run(ctx, spec, config.eval_langs(catalog, name))  # Step 4
        training[name]["seconds"] = time.perf_counter() - tick
        marker.write_text(json.dumps(training[name]))
        hooks.on_stage(name, score_trial(out, config, catalog), stage_dir)
    timings.update({f"{n}_s": training[n].get("seconds", 0.0) for n in config.targets})
    timings["total_s"] = time.perf_counter() - started
    result = score_trial(out, config, catalog)
    result.update(training=training, timings=timings)
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    return result


def score_trial(out: Path, config: TrialConfig, catalog: Catalog) -> dict[str, Any]:
    """Score the trial's XTREME export (the same code as `sweeper score`)."""
    root = out / "xtreme"
    overall, detailed, _ = xtreme.evaluate(root / "predictions", root / "labels", catalog)
    by_lang = xtreme.per_language(detailed)
    protocols = config.protocols(catalog)
    result: dict[str, Any] = {"model": config.model, "data": config.data,
                              "synthetic": config.data == "sample", "protocol": protocols,
                              "intermediate": list(config.intermediate)}
    summary: dict[str, Any] = {}
    for task, langs in by_lang.items():
        result.setdefault(protocols[task], {})[task] = langs
        per_tier: dict[str, list[float]] = {}
        for lang, values in langs.items():
            per_tier.setdefault(catalog.tier(lang), []).append(xtreme.main_metric(task, values))
        summary[task] = {"avg_metric": detailed[task]["avg_metric"], "protocol": protocols[task],
                         "tiers": {t: sum(v) / len(v) for t, v in sorted(per_tier.items())}}
    result["summary"] = summary
    result["xtreme"] = {"overall_scores": overall, "detailed_scores": detailed}
    return result
