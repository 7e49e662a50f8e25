"""A trial's settings resolved once: every effective value, immutable and serialisable.

`resolve(settings, catalog, facts)` is the only place effective values are computed:
the model's default learning rate, each target's epochs, each task's max length clamped
to the model, the retrieval layer, the precision, the evaluated languages, the protocol
per target, and which intermediate settings can matter. The keys, the MLflow params and
the stages all read the `ResolvedTrial` it returns; a sweep's driver resolves every
trial and its workers receive the object, never the space file. `Facts` are what the
settings resolve against (the model's identity and shape, the tokenizer, each task's
data version, the device kind), found once on the driver (sweeper.trial.environment).
Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sweeper.frozen import Frozen, freeze
from sweeper.model.optimisation import Optimisation
from sweeper.trial.settings import (
    IntermediateSettings,
    RuntimeSettings,
)


@dataclass(frozen=True)
class Facts:
    """What settings resolve against, found once where the trial (or sweep) starts."""

    model_id: str  # the encoder's starting weights (sweeper.model.encoders.model_identity)
    tokenizer: str  # tokenizer fingerprint
    num_layers: int
    max_positions: int  # the longest input the model takes, in tokens
    data_versions: Frozen  # task -> data version in its source
    device: str  # "cpu" or "cuda": where trials compute (precision 'auto')


@dataclass(frozen=True)
class Intermediate:
    """Phase 1 as it runs: a value that cannot matter is None."""

    tasks: tuple[str, ...]
    epochs: float | None  # None when `steps` decides
    steps: int | None
    sampling: str | None  # None with fewer than two tasks
    temperature: float | None  # None unless sampling by temperature
    examples_cap: int | None
    max_passes: float | None = None  # at most this many passes over a task's examples


@dataclass(frozen=True)
class ResolvedTrial:
    requested: Frozen  # the settings as asked, by group (trial_config.yaml)
    model: str
    data: str
    local: Frozen  # task -> local folder
    seed: int
    facts: Facts
    intermediate: Intermediate
    training: Optimisation
    max_length: Frozen  # task -> tokens, clamped to the model
    doc_stride: int
    targets: tuple[str, ...]
    target_epochs: Frozen  # trained target -> epochs
    target_batch: Frozen  # trained target -> effective batch
    target_stages: Frozen  # trained target -> its training stage (shared: sweeper.trial.sharing)
    eval_languages: Frozen  # target -> languages evaluated
    max_eval_examples: int | None
    retrieval_layer: int
    retrieval_pooling: str
    protocols: Frozen  # target -> zero_shot / translate_train / in_language
    # retrieval target -> languages whose parallel text the intermediate set holds (a
    # translated task with its English source): those results are not zero-shot
    parallel_seen: Frozen
    fingerprints: Frozen  # task -> its catalog entry's fingerprint
    runtime: RuntimeSettings
    device: str = "cpu"  # what the trial computes on: cpu or cuda ('auto' resolved)
    target_tasks: tuple[str, ...] = ()  # the targets, their training and selection sources

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.intermediate.tasks

    def baseline(self) -> "ResolvedTrial":
        """The same trial without intermediate tasks: what its gains are measured against."""
        requested = dict(self.requested)  # the phase at its defaults: none of it can matter
        requested["intermediate"] = freeze(dataclasses.asdict(IntermediateSettings()))
        reads = set(self.target_tasks)
        return dataclasses.replace(
            self, requested=Frozen(requested),
            intermediate=Intermediate((), None, None, None, None, None, None),
            max_length=Frozen({t: n for t, n in self.max_length.items() if t in reads}),
            fingerprints=Frozen({t: f for t, f in self.fingerprints.items() if t in reads}),
            protocols=Frozen({t: "zero_shot" for t in self.targets}), parallel_seen=Frozen())

    def with_runtime(self, **changes: Any) -> "ResolvedTrial":
        """Runtime settings changed (they enter no key and change no number)."""
        return dataclasses.replace(self, runtime=dataclasses.replace(self.runtime, **changes))

    def __str__(self) -> str:  # what Ray Tune's trial table shows
        return f"settings<{','.join(self.tasks) or 'baseline'}>"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, every group included."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResolvedTrial":
        parts = dict(data)
        parts["facts"] = Facts(**{**parts["facts"],
                                  "data_versions": freeze(parts["facts"]["data_versions"])})
        parts["intermediate"] = Intermediate(**{**parts["intermediate"],
                                                "tasks": tuple(parts["intermediate"]["tasks"])})
        parts["training"] = Optimisation(**parts["training"])
        parts["runtime"] = RuntimeSettings(**parts["runtime"])
        for name in ("requested", "local", "max_length", "target_epochs", "target_batch",
                     "target_stages", "eval_languages", "protocols", "parallel_seen",
                     "fingerprints"):
            parts[name] = freeze(parts[name])
        parts["targets"] = tuple(parts["targets"])
        parts["target_tasks"] = tuple(parts.get("target_tasks", ()))
        return cls(**parts)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
