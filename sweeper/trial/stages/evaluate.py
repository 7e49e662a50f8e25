"""Steps 2 and 4: zero-shot predictions per language, written in the XTREME layout.

The evaluator of a target is looked up by its catalog `type`, so a new target of a
known type needs no Python. Every evaluation runs with the model in eval mode (no
dropout) under inference mode, whatever ran before it.
"""

from __future__ import annotations

from typing import Callable

import torch

from sweeper.catalog import TaskSpec
from sweeper.errors import ConfigError
from sweeper.trial.stages import classification, qa, retrieval, tagging
from sweeper.trial.stages.context import TrialContext

Evaluator = Callable[[TrialContext, TaskSpec, str, str], None]

EVALUATORS: dict[str, Evaluator] = {
    "classification": classification.evaluate,
    "pair_classification": classification.evaluate,
    "multiple_choice": classification.evaluate,
    "token_classification": tagging.evaluate,
    "qa": qa.evaluate,
    "retrieval": retrieval.evaluate,
}


def run(ctx: TrialContext, target: TaskSpec, langs: list[str]) -> None:
    """Zero-shot evaluation of `target` on `langs`, exported in the XTREME layout."""
    if target.type not in EVALUATORS:
        raise ConfigError(f"no evaluator for task type '{target.type}' ({target.name})")
    evaluator = EVALUATORS[target.type]
    ctx.model.eval()
    with torch.inference_mode():
        for lang in langs:
            evaluator(ctx, target, lang, target.eval_split)
