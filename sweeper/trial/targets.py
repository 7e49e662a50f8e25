"""Steps 2-4 for every target of a trial, from the same encoder: one fine-tuning for the
targets that share it (sweeper.trial.sharing), then each target evaluated; a target a
last run finished (its marker in the stage folder) is read back, not run again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sweeper import atomic
from sweeper.trial import sharing
from sweeper.trial.hooks import TrialHooks
from sweeper.trial.scores import score_trial
from sweeper.trial.seeding import seed_stage
from sweeper.trial.stages import evaluate, target
from sweeper.trial.stages.context import TrialContext


def run_targets(ctx: TrialContext, stage_dir: Path, hooks: TrialHooks,
                training: dict[str, Any]) -> list[str]:
    """Steps 2-4 for every target from the same encoder, one fine-tuning for the targets
    that share it; the targets skipped because a last run finished them."""
    resolved = ctx.resolved
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
    """Step 4 (Step 2 for retrieval) for one target: what its training left, with the
    seconds of both."""
    tick = time.perf_counter()
    evaluation = evaluate.run(ctx, spec)
    eval_s = time.perf_counter() - tick
    out = {**fitted, "train_s": train_s, "eval_s": eval_s, "seconds": train_s + eval_s}
    if evaluation:
        out["evaluation"] = evaluation
    return out
