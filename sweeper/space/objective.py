"""What model selection optimises, under a named selection protocol. Test numbers never
enter. Pure.

- `english_dev` (the default; strict zero-shot, as XTREME's run_classify.py and
  run_tag.py select): each target's ENGLISH dev score (or gain over its baseline), averaged
  over the targets that have one;
- `target_dev` (the "oracle" of Keung et al. 2020, "Don't Use English Dev"): the mean dev
  score (or gain) over the objective's languages, then over targets. Reported beside the
  zero-shot numbers, never instead of them.
"""

from __future__ import annotations

import math
from typing import Any

from sweeper.scoring.xtreme import main_metric, target_results

PROTOCOLS = ("english_dev", "target_dev")


def objective(result: dict[str, Any], languages: list[str], *, metric: str = "score",
              baseline: dict[str, Any] | None = None, selection: str = "english_dev"
              ) -> float:
    """The objective of a (partial) trial result under `selection`; NaN when no target
    has the dev numbers it needs."""
    if selection not in PROTOCOLS:
        raise ValueError(f"unknown selection protocol '{selection}'")
    reference = {task: langs for task, _, langs in target_results(baseline, "dev")} \
        if metric == "gain" and baseline is not None else None
    if metric == "gain" and reference is None:
        raise ValueError("a gain objective needs the baseline's result")
    wanted = ["en"] if selection == "english_dev" else languages
    per_target = []
    for task, _, langs in target_results(result, "dev"):
        values = []
        for lang, v in langs.items():
            if lang not in wanted:
                continue
            if reference is None:
                values.append(main_metric(task, v))
            elif lang in reference.get(task, {}):
                values.append(main_metric(task, v) - main_metric(task, reference[task][lang]))
        if values:
            per_target.append(sum(values) / len(values))
    return sum(per_target) / len(per_target) if per_target else math.nan


def both(result: dict[str, Any], languages: list[str], *, metric: str = "score",
         baseline: dict[str, Any] | None = None) -> dict[str, float]:
    """The objective under each protocol, named (`selection.english_dev`, ...): the
    zero-shot number and the oracle, side by side."""
    return {f"selection.{p}": objective(result, languages, metric=metric, baseline=baseline,
                                        selection=p) for p in PROTOCOLS}
