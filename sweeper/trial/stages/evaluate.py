"""Steps 2 and 4: predictions per language on the selection (dev) and test splits,
written in the XTREME layout (`dev-<lang>` and `test-<lang>` files side by side).

The evaluator of a target is its task type's (sweeper.tasktypes), so a new target of a
known type needs no Python. Every evaluation runs with the model in eval mode (no
dropout) under inference mode, whatever ran before it. Dev jobs run first: BUCC
chooses its threshold there.
"""

from __future__ import annotations

from typing import Any

import torch

from sweeper.catalog import TaskSpec
from sweeper.trial.jobs import jobs
from sweeper.trial.stages.context import TrialContext


def run(ctx: TrialContext, target: TaskSpec) -> dict[str, Any]:
    """Evaluate `target` on both splits; what evaluators report (BUCC thresholds), by
    split and language."""
    tasktype = target.tasktype
    info: dict[str, dict[str, dict]] = {}
    ctx.model.eval()
    with torch.inference_mode():
        for job in jobs(ctx.catalog, target, ctx.resolved.eval_languages[target.name]):
            out = tasktype.evaluate(ctx, job)
            if out:
                info.setdefault(job.purpose, {})[job.lang] = out
    return info
