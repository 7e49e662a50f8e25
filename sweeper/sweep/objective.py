"""What model selection optimises: a trial's DEV score, or its DEV gain over its baseline,
averaged over the objective's languages, then over targets. Test numbers never enter.
Pure."""

from __future__ import annotations

import math
from typing import Any

from sweeper.scoring.xtreme import main_metric, target_results


def objective(result: dict[str, Any], languages: list[str], *, metric: str = "score",
              baseline: dict[str, Any] | None = None) -> float:
    """Mean over targets of the mean dev main metric (or gain, with `baseline`'s dev
    numbers subtracted) over `languages`; NaN when no target has such dev numbers."""
    reference = {task: langs for task, _, langs in target_results(baseline, "dev")} \
        if metric == "gain" and baseline is not None else None
    if metric == "gain" and reference is None:
        raise ValueError("a gain objective needs the baseline's result")
    per_target = []
    for task, _, langs in target_results(result, "dev"):
        values = []
        for lang, v in langs.items():
            if lang not in languages:
                continue
            if reference is None:
                values.append(main_metric(task, v))
            elif lang in reference.get(task, {}):
                values.append(main_metric(task, v) - main_metric(task, reference[task][lang]))
        if values:
            per_target.append(sum(values) / len(values))
    return sum(per_target) / len(per_target) if per_target else math.nan
