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

from sweeper.catalog import Catalog, TaskSpec
from sweeper.errors import ConfigError
from sweeper.frozen import Frozen, freeze
from sweeper.trial.checks import check_settings
from sweeper.trial.settings import (
    DEFAULT_LR,
    TINY_LR,
    IntermediateSettings,
    RuntimeSettings,
    TrialSettings,
    target_epochs,
)
from sweeper.trial.sharing import stages


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
class Optimisation:
    """What both training phases share."""

    lr: float
    batch_size: int  # the effective batch of the intermediate phase (and default of targets)
    weight_decay: float
    warmup_ratio: float
    max_train_examples: int | None
    precision: str  # fp32 or bf16


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


def _involved(settings: TrialSettings, catalog: Catalog) -> list[TaskSpec]:
    """Every task a trial reads: intermediate tasks, targets, the English training source
    of each target and the task each selects on."""
    names = list(settings.tasks) + list(settings.targets)
    for name in settings.targets:
        spec = catalog.task(name)
        if spec.needs_training:
            names.append(catalog.train_task(spec)[0].name)
        if spec.selection is not None and spec.selection.task:
            names.append(spec.selection.task)
    return [catalog.task(n) for n in dict.fromkeys(names)]


def involved_tasks(settings: TrialSettings, catalog: Catalog) -> list[str]:
    """Names of every task a trial with these settings reads."""
    return [t.name for t in _involved(settings, catalog)]


def _intermediate(settings: TrialSettings) -> Intermediate:
    phase = settings.intermediate
    if not phase.tasks:  # nothing of the phase can matter
        return Intermediate((), None, None, None, None, None, None)
    many = len(phase.tasks) > 1
    return Intermediate(
        tasks=tuple(sorted(phase.tasks)),  # a set: its order must change neither key nor result
        epochs=None if phase.steps is not None else float(phase.epochs),
        steps=phase.steps,
        sampling=phase.sampling if many else None,
        temperature=phase.temperature if many and phase.sampling == "temperature" else None,
        examples_cap=_per_task_cap(phase), max_passes=phase.max_passes)


def _per_task_cap(phase: Any) -> int | None:
    """Examples per task: the cap, or the total split evenly (what runs, so that equal
    phases asked either way share one key)."""
    if phase.examples_total is not None:
        return phase.examples_total // len(phase.tasks)
    return phase.examples_cap


def _precision(asked: str, device: str) -> str:
    """'auto' is bf16 where trials compute on a GPU, fp32 elsewhere."""
    if asked != "auto":
        return asked
    return "bf16" if device == "cuda" else "fp32"


def default_retrieval_layer(num_layers: int) -> int:
    """Layer 14 of 24 (XTREME's for XLM-R Large), scaled to the model's depth."""
    return max(1, min(num_layers, round(num_layers * 14 / 24)))


def evaluated_languages(settings: TrialSettings, catalog: Catalog, target: TaskSpec
                        ) -> tuple[str, ...]:
    """The languages of `target` a trial with these settings evaluates."""
    if not settings.evaluation.languages:
        return tuple(target.languages)
    wanted = set(catalog.expand_languages(settings.evaluation.languages))
    return tuple(lang for lang in target.languages if lang in wanted)


def _protocols(settings: TrialSettings, catalog: Catalog) -> dict[str, str]:
    out = {}
    for target in settings.targets:
        kinds = [k for k in (catalog.task(t).protocol_kind(target) for t in settings.tasks) if k]
        out[target] = kinds[0] if kinds else "zero_shot"
    return out


def resolve(settings: TrialSettings, catalog: Catalog, facts: Facts) -> ResolvedTrial:
    """Check `settings` against the catalog and the facts; every effective value."""
    check_settings(settings, catalog)
    layer = settings.evaluation.retrieval_layer
    if layer is not None and layer > facts.num_layers:
        raise ConfigError(f"retrieval_layer {layer} is deeper than the model's {facts.num_layers} "
                     f"layers ({settings.model})")
    tasks = _involved(settings, catalog)
    missing = [t.name for t in tasks if t.name not in facts.data_versions]
    if missing:
        raise RuntimeError(f"no data version known for {missing}")
    training = settings.training
    device = settings.runtime.device if settings.runtime.device != "auto" else facts.device
    lr = training.lr if training.lr is not None else (
        TINY_LR if settings.model in ("tiny", "small") else DEFAULT_LR)  # random init
    targets = [catalog.task(t) for t in settings.targets]
    trained = [t for t in targets if t.needs_training]
    epochs = {t.name: target_epochs(settings, t) for t in trained}
    batch = {t.name: settings.target.batch_size.get(t.name, training.batch_size) for t in trained}
    lengths = {t.name: min(training.max_seq_len or t.max_length, facts.max_positions)
               for t in tasks}
    return ResolvedTrial(
        requested=freeze(settings.to_dict()),
        model=settings.model, data=settings.data, local=freeze(settings.common.local_data),
        seed=settings.seed, facts=facts, intermediate=_intermediate(settings),
        training=Optimisation(lr=float(lr), batch_size=training.batch_size,
                              weight_decay=float(training.weight_decay),
                              warmup_ratio=float(training.warmup_ratio),
                              max_train_examples=training.max_train_examples,
                              precision=_precision(training.precision, device)),
        max_length=freeze(lengths), doc_stride=training.doc_stride,
        targets=tuple(settings.targets), target_epochs=freeze(epochs),
        target_batch=freeze(batch),
        target_stages=freeze(stages(catalog, settings.targets, epochs=epochs, batch=batch,
                                    max_length=lengths, doc_stride=training.doc_stride,
                                    max_train_examples=training.max_train_examples)),
        eval_languages=freeze({t.name: evaluated_languages(settings, catalog, t) for t in targets}),
        max_eval_examples=settings.evaluation.max_examples,
        retrieval_layer=layer if layer is not None else default_retrieval_layer(facts.num_layers),
        retrieval_pooling=settings.evaluation.retrieval_pooling,
        protocols=freeze(_protocols(settings, catalog)),
        parallel_seen=freeze({t: list(seen) for t in settings.targets
                              if (seen := catalog.parallel_data_seen(settings.tasks, t))}),
        fingerprints=freeze({t.name: t.fingerprint() for t in tasks}),
        runtime=dataclasses.replace(settings.runtime), device=device,
        target_tasks=tuple(t.name for t in _involved(settings.replace(intermediate=[]),
                                                     catalog)))

