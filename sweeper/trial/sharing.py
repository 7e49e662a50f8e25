"""Which targets share one fine-tuning: XQuAD and MLQA both train on SQuAD v1.1, and with
the same target-phase settings that is one training, in a trial and in a baseline.

A target's training stage is named by what it trains on: its own name when no other
catalog target trains on the same English data, else that data's task (`squad`). The
name seeds the stage and does not depend on which other targets a trial has, so a
target's numbers do not either. Targets whose training source and effective settings
(epochs, effective batch, max length, doc stride, training cap) are equal share the stage
`name@settings`. Pure module.
"""

from __future__ import annotations

from typing import Any

from sweeper.catalog import Catalog
from sweeper.digest import digest
from sweeper.trial.settings import target_epochs


def stage_name(catalog: Catalog, target: str) -> str:
    """The name a target's training stage is seeded by."""
    source = catalog.train_task(catalog.task(target))[0].name
    users = [t.name for t in catalog.targets()
             if t.needs_training and catalog.train_task(t)[0].name == source]
    return target if users == [target] else source


def stages(catalog: Catalog, targets: list[str], *, epochs: dict[str, float],
           batch: dict[str, int], max_length: dict[str, int], doc_stride: int,
           max_train_examples: int | None) -> dict[str, str]:
    """target -> its training stage, `name@settings`, for every trained target."""
    out = {}
    for name in targets:
        task = catalog.task(name)
        if not task.needs_training:
            continue
        source = catalog.train_task(task)[0]
        settings: dict[str, Any] = {"source": source.name, "type": task.type,
                                    "epochs": epochs[name], "batch": batch[name],
                                    "length": max_length[source.name],
                                    "cap": max_train_examples,
                                    "stride": doc_stride if task.tasktype.uses_doc_stride else None}
        out[name] = f"{stage_name(catalog, name)}@{digest(settings, 8)}"
    return out


def trainings(settings: Any, catalog: Catalog) -> int:
    """How many fine-tunings a trial (or its baseline) with these settings runs: one per
    distinct stage of its trained targets."""
    trained = [t for t in settings.targets if catalog.task(t).needs_training]
    training = settings.training
    sources = {t: catalog.train_task(catalog.task(t))[0] for t in trained}
    return len(set(stages(
        catalog, trained,
        epochs={t: target_epochs(settings, catalog.task(t)) for t in trained},
        batch={t: settings.target.batch_size.get(t, training.batch_size) for t in trained},
        max_length={s.name: training.max_seq_len or s.max_length for s in sources.values()},
        doc_stride=training.doc_stride,
        max_train_examples=training.max_train_examples).values()))


def groups(target_stages: dict[str, str], targets: tuple[str, ...] | list[str]
           ) -> list[tuple[str | None, list[str]]]:
    """(stage, its targets) in the trial's order; untrained targets each alone (None)."""
    out: list[tuple[str | None, list[str]]] = []
    for name in targets:
        stage = target_stages.get(name)
        group = next((g for s, g in out if s is not None and s == stage), None)
        if group is not None:
            group.append(name)
        else:
            out.append((stage, [name]))
    return out
