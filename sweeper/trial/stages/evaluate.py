"""Steps 2 and 4: predictions per language on the selection (dev) and test splits,
written in the XTREME layout (`dev-<lang>` and `test-<lang>` files side by side).

The evaluator of a target is looked up by its catalog `type`, so a new target of a
known type needs no Python. Every evaluation runs with the model in eval mode (no
dropout) under inference mode, whatever ran before it. Dev jobs run first: BUCC
chooses its threshold there.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from sweeper.catalog import TaskSpec
from sweeper.errors import ConfigError
from sweeper.trial.jobs import EvalJob, jobs
from sweeper.trial.stages import classification, qa, retrieval, tagging
from sweeper.trial.stages.context import TrialContext

Evaluator = Callable[[TrialContext, EvalJob], dict]

EVALUATORS: dict[str, Evaluator] = {
    "classification": classification.evaluate,
    "pair_classification": classification.evaluate,
    "multiple_choice": classification.evaluate,
    "token_classification": tagging.evaluate,
    "qa": qa.evaluate,
    "retrieval": retrieval.evaluate,
}


def run(ctx: TrialContext, target: TaskSpec) -> dict[str, Any]:
    """Evaluate `target` on both splits; what evaluators report (BUCC thresholds), by
    split and language."""
    if target.type not in EVALUATORS:
        raise ConfigError(f"no evaluator for task type '{target.type}' ({target.name})")
    evaluator = EVALUATORS[target.type]
    info: dict[str, dict[str, dict]] = {}
    ctx.model.eval()
    with torch.inference_mode():
        for job in jobs(ctx.settings, ctx.catalog, target):
            out = evaluator(ctx, job)
            if out:
                info.setdefault(job.kind, {})[job.lang] = out
    return info
