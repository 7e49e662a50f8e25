"""`resolve(settings, catalog, facts)`: the only place a trial's effective values are
computed (sweeper.trial.resolved holds what it returns): the model's default learning
rate, each target's epochs and effective batch, each task's max length clamped to the
model, the retrieval layer, the precision, the evaluated languages, the protocol per
target, the runtime's cache folder, and which intermediate settings can matter.
Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sweeper.catalog import Catalog, TaskSpec
from sweeper.errors import ConfigError
from sweeper.frozen import freeze
from sweeper.model.offline import is_offline
from sweeper.trial.checks import check_settings
from sweeper.trial.resolved import Facts, Intermediate, Optimisation, ResolvedTrial
from sweeper.trial.settings import (
    DEFAULT_LR,
    TINY_LR,
    RuntimeSettings,
    TrialSettings,
    cache_root,
    given_cache,
    target_epochs,
)
from sweeper.trial.sharing import stages


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


def _runtime(runtime: RuntimeSettings) -> RuntimeSettings:
    """The runtime as resolved once: the cache folder the setting or $SWEEPER_CACHE names,
    as an absolute path (None stays None: each node's own default, ~/.cache/sweeper)."""
    given = given_cache(runtime)
    return dataclasses.replace(runtime, cache_dir=str(cache_root(runtime)) if given else None)


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
        TINY_LR if is_offline(settings.model) else DEFAULT_LR)  # random init
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
        runtime=_runtime(settings.runtime), device=device,
        target_tasks=tuple(t.name for t in _involved(settings.replace(intermediate=[]),
                                                     catalog)))
