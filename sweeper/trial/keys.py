"""The keys that decide what may be reused or compared, derived from a resolved trial.

- intermediate-stage key (the stage cache): model identity + tokenizer fingerprint +
  seed + the intermediate phase as it runs + the optimisation settings + each
  intermediate task's max length, catalog fingerprint and data version (+ the doc
  stride where one of them is QA);
- baseline key (what a trial's gain is measured against): model identity + tokenizer
  fingerprint + seed + the optimisation settings + each target's epochs, effective
  batch, evaluated
  languages, the evaluation cap and retrieval layer where they matter + every task the
  targets read (the targets, their English training sources and selection sources):
  max length, fingerprint and data version; nothing of the intermediate phase.

Every value is the effective one of `sweeper.trial.resolved` (the model's default
learning rate, the catalog's target epochs, the max length clamped to the model), and
a value that cannot change the result is left out, so equal experiments get equal
keys. Runtime settings never enter. The feature key lives beside the features
(`sweeper.data.features.cache_key`). Pure module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sweeper.catalog import Catalog, TaskSpec
from sweeper.digest import digest
from sweeper.trial.resolved import ResolvedTrial

KEYS_VERSION = 5  # bump when a stage's code changes what it computes


@dataclass(frozen=True)
class TrialKeys:
    intermediate: str | None  # None: no intermediate phase (a baseline)
    baseline: str


def _tasks(resolved: ResolvedTrial, tasks: list[TaskSpec]) -> dict[str, Any]:
    """Per task: catalog fingerprint, data version and max length; the doc stride once
    where a task's features depend on it."""
    out: dict[str, Any] = {t.name: [resolved.fingerprints[t.name],
                                    resolved.facts.data_versions[t.name],
                                    resolved.max_length[t.name]] for t in tasks}
    out["doc_stride"] = resolved.doc_stride if any(t.tasktype.uses_doc_stride for t in tasks) \
        else None
    return out


def _common(resolved: ResolvedTrial) -> dict[str, Any]:
    return {"version": KEYS_VERSION, "model": resolved.facts.model_id,
            "tokenizer": resolved.facts.tokenizer, "seed": resolved.seed,
            "training": dataclasses.asdict(resolved.training)}


def intermediate_key(resolved: ResolvedTrial, catalog: Catalog) -> str | None:
    """Key of the intermediate phase's encoder (None without intermediate tasks)."""
    if not resolved.tasks:
        return None
    tasks = [catalog.task(t) for t in resolved.tasks]
    phase = dataclasses.asdict(resolved.intermediate)
    del phase["tasks"]  # in `tasks`, with their versions
    return digest({**_common(resolved), "intermediate": phase,
                   "tasks": _tasks(resolved, tasks)})


def baseline_tasks(resolved: ResolvedTrial, catalog: Catalog) -> list[TaskSpec]:
    """The targets, the tasks whose English training split fine-tunes them, and the tasks
    they select on."""
    return [catalog.task(t) for t in resolved.target_tasks]


def baseline_key(resolved: ResolvedTrial, catalog: Catalog) -> str:
    """Key a trial's gain is measured against: the same trial without intermediate tasks."""
    targets = [catalog.task(t) for t in resolved.targets]
    retrieval = any(not t.needs_training for t in targets)
    return digest({**_common(resolved),
                   "target": {"epochs": dict(resolved.target_epochs),
                              "batch": dict(resolved.target_batch)},
                   "evaluation": {"languages": dict(resolved.eval_languages),
                                  "max_examples": resolved.max_eval_examples,
                                  "retrieval_layer": resolved.retrieval_layer if retrieval
                                  else None,
                                  "retrieval_pooling": resolved.retrieval_pooling if retrieval
                                  else None},
                   "tasks": _tasks(resolved, baseline_tasks(resolved, catalog))})


def trial_keys(resolved: ResolvedTrial, catalog: Catalog) -> TrialKeys:
    return TrialKeys(intermediate_key(resolved, catalog), baseline_key(resolved, catalog))
