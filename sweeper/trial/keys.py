"""The keys that decide what may be reused or compared, derived from the settings groups.

- intermediate-stage key (the stage cache): model identity + tokenizer fingerprint +
  seed + every `intermediate` and `training` field + each intermediate task's catalog
  fingerprint and data version;
- baseline key (what a trial's gain is measured against): model identity + tokenizer
  fingerprint + seed + every `training`, `target` and `evaluation` field + each target's
  (and its English training source's) catalog fingerprint and data version, nothing of
  the intermediate phase.

Values enter in their effective form (the model's default learning rate, the catalog's
target epochs, languages expanded from groups), and a value that cannot change the
result is left out (the temperature unless sampling by temperature, the doc stride
without a QA task), so equal experiments get equal keys. `runtime` never enters.
The feature key lives beside the features (`sweeper.data.features.cache_key`).
Pure module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sweeper.catalog import Catalog, TaskSpec
from sweeper.digest import digest
from sweeper.trial.settings import TrialSettings

KEYS_VERSION = 3  # bump when a stage's code changes what it computes


@dataclass(frozen=True)
class Resolved:
    """What the settings resolve to on this machine, needed by the keys."""

    model_id: str  # see sweeper.model.encoders.model_identity
    tokenizer: str  # tokenizer fingerprint
    data_versions: dict[str, str]  # task name -> its data version in the source
    precision: str  # fp32 / bf16, after 'auto'
    num_layers: int  # encoder depth (the retrieval layer's default)


@dataclass(frozen=True)
class TrialKeys:
    intermediate: str | None  # None: no intermediate phase (a baseline)
    baseline: str


def target_epochs(settings: TrialSettings, task: TaskSpec) -> float:
    """Epochs of `task`'s fine-tuning: the setting, else the catalog's (jiant's) value;
    the synthetic sample, much smaller than the real sets, may ask for more passes."""
    if settings.target.epochs is not None:
        return settings.target.epochs
    if settings.data == "sample" and "epochs" in task.sample:
        return float(task.sample["epochs"])
    return float(task.epochs or 2.0)


def retrieval_layer(settings: TrialSettings, num_layers: int) -> int:
    """The mean-pooled layer: the setting, else layer 14 of 24 scaled to the depth."""
    if settings.evaluation.retrieval_layer is not None:
        return settings.evaluation.retrieval_layer
    return max(1, min(num_layers, round(num_layers * 14 / 24)))


def _training(settings: TrialSettings, tasks: list[TaskSpec], precision: str) -> dict[str, Any]:
    part = dataclasses.asdict(settings.training)
    part.update(lr=settings.effective_lr(), precision=precision)
    if not any(t.type == "qa" for t in tasks):
        part["doc_stride"] = None
    return part


def _tasks(tasks: list[TaskSpec], resolved: Resolved) -> dict[str, list[str]]:
    return {t.name: [t.fingerprint(), resolved.data_versions[t.name]] for t in tasks}


def intermediate_key(settings: TrialSettings, catalog: Catalog, resolved: Resolved
                     ) -> str | None:
    """Key of the intermediate phase's encoder (None without intermediate tasks)."""
    if not settings.tasks:
        return None
    tasks = [catalog.task(t) for t in settings.tasks]
    phase = dataclasses.asdict(settings.intermediate)
    if phase["sampling"] != "temperature":
        phase["temperature"] = None
    if len(tasks) == 1:  # one task: how tasks are drawn cannot matter
        phase.update(sampling=None, temperature=None)
    return digest({"version": KEYS_VERSION, "model": resolved.model_id,
                   "tokenizer": resolved.tokenizer, "seed": settings.seed,
                   "intermediate": phase,
                   "training": _training(settings, tasks, resolved.precision),
                   "tasks": _tasks(tasks, resolved)})


def baseline_tasks(settings: TrialSettings, catalog: Catalog) -> list[TaskSpec]:
    """The targets and the tasks whose English training split fine-tunes them."""
    out: list[TaskSpec] = []
    for name in settings.targets:
        spec = catalog.task(name)
        sources = [spec] + ([catalog.train_task(spec)[0]] if spec.needs_training else [])
        out.extend(s for s in sources if s not in out)
    return out


def baseline_key(settings: TrialSettings, catalog: Catalog, resolved: Resolved) -> str:
    """Key a trial's gain is measured against: the same trial without intermediate tasks."""
    targets = [catalog.task(t) for t in settings.targets]
    evaluation = dataclasses.asdict(settings.evaluation)
    evaluation["languages"] = {t.name: settings.eval_langs(catalog, t.name) for t in targets}
    evaluation["retrieval_layer"] = (retrieval_layer(settings, resolved.num_layers)
                                     if any(t.type == "retrieval" for t in targets) else None)
    target = dataclasses.asdict(settings.target)
    target["epochs"] = {t.name: target_epochs(settings, t) for t in targets if t.needs_training}
    tasks = baseline_tasks(settings, catalog)
    return digest({"version": KEYS_VERSION, "model": resolved.model_id,
                   "tokenizer": resolved.tokenizer, "seed": settings.seed,
                   "training": _training(settings, tasks, resolved.precision),
                   "target": target, "evaluation": evaluation,
                   "tasks": _tasks(tasks, resolved)})


def trial_keys(settings: TrialSettings, catalog: Catalog, resolved: Resolved) -> TrialKeys:
    return TrialKeys(intermediate_key(settings, catalog, resolved),
                     baseline_key(settings, catalog, resolved))


def effective_params(settings: TrialSettings, catalog: Catalog, resolved: Resolved
                     ) -> dict[str, Any]:
    """Flat settings with defaults resolved (what a run logs, so runs compare on values)."""
    out: dict[str, Any] = {}
    for s, value in settings.items():
        if s.group == "runtime":
            continue
        out[s.name] = ",".join(value) if isinstance(value, list) else value
    out["lr"] = settings.effective_lr()
    out["precision"] = resolved.precision
    for name in settings.targets:
        spec = catalog.task(name)
        if spec.needs_training:
            out[f"target_epochs.{name}"] = target_epochs(settings, spec)
    out["target_epochs"] = settings.target.epochs if settings.target.epochs else "catalog"
    out["retrieval_layer"] = retrieval_layer(settings, resolved.num_layers)
    for name in settings.tasks + settings.targets:
        spec = catalog.task(name)
        out[f"max_seq_len.{name}"] = settings.training.max_seq_len or spec.max_length
    out["max_seq_len"] = settings.training.max_seq_len or "catalog"
    return out
