"""What a trial does not compute twice: its stage folder, kept while the trial's keys stay
the same; and Step 1, whose encoder is found where a finished run left it (a marker in
the trial's stage folder, or the shared stage cache) or trained now and kept there."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from sweeper import atomic
from sweeper.cache import StageCache
from sweeper.trial import keys as trial_keys
from sweeper.trial.stages import intermediate
from sweeper.trial.stages.context import TrialContext


def prepare_stages(out: Path, keys: trial_keys.TrialKeys) -> Path:
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


def finished_intermediate(stage_dir: Path, cache: StageCache | None, key: str | None
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


def run_intermediate(ctx: TrialContext, stage_dir: Path, cache: StageCache | None,
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
