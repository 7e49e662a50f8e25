"""Typed trial settings: `TrialSettings` holds one of each group (sweeper.trial.groups:
common, intermediate, training, target, evaluation, runtime), and every field is a
setting under a flat name (`SETTINGS`, `lookup`).

Each field's doc is its `--set` help and its flat `--set` name is the field name
(or the `flag` in its metadata). The reuse and comparison keys are derived from the
groups in `sweeper.trial.keys`; runtime fields enter none. Pure module: no torch,
ray or mlflow.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

from sweeper.errors import ConfigError
from sweeper.trial.fields import Setting, coerce
from sweeper.trial.groups import (  # noqa: F401 (the groups are part of this module's face)
    DEFAULT_LR,
    DEVICES,
    PRECISIONS,
    SAMPLINGS,
    TINY_LR,
    CommonSettings,
    EvaluationSettings,
    IntermediateSettings,
    RuntimeSettings,
    TargetSettings,
    TrainingSettings,
)

GROUPS: dict[str, type] = {"common": CommonSettings, "intermediate": IntermediateSettings,
                           "training": TrainingSettings, "target": TargetSettings,
                           "evaluation": EvaluationSettings, "runtime": RuntimeSettings}


def _settings() -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for group, cls in GROUPS.items():
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            name = f.metadata.get("flag") or f.name
            if name in out:
                raise RuntimeError(f"setting name '{name}' is used twice")
            out[name] = Setting(name, group, f, hints[f.name])
    return out


SETTINGS = _settings()  # flat name -> Setting; dotted `group.field` names also accepted


def lookup(key: str) -> Setting:
    """The setting called `key` (flat name, or `group.field`)."""
    if key in SETTINGS:
        return SETTINGS[key]
    group, _, name = key.partition(".")
    for s in SETTINGS.values():
        if s.group == group and s.field.name == name:
            return s
    raise ConfigError(f"unknown setting '{key}' (known: {', '.join(SETTINGS)})")


@dataclass(frozen=True)
class TrialSettings:
    """Everything one trial needs: intermediate tasks -> English fine-tuning -> zero-shot
    evaluation."""

    common: CommonSettings = field(default_factory=CommonSettings)
    intermediate: IntermediateSettings = field(default_factory=IntermediateSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    target: TargetSettings = field(default_factory=TargetSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)

    @classmethod
    def build(cls, **values: Any) -> "TrialSettings":
        """Settings from flat names (`targets=[...]`, `lr=...`), each checked and coerced."""
        return cls().replace(**values)

    def replace(self, **values: Any) -> "TrialSettings":
        """A copy with some settings changed (flat or dotted names)."""
        changes: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
        for key, raw in values.items():
            s = lookup(key)
            changes[s.group][s.field.name] = coerce(s, raw)
        return TrialSettings(**{g: dataclasses.replace(getattr(self, g), **changes[g])
                                for g in GROUPS})

    def get(self, key: str) -> Any:
        s = lookup(key)
        return getattr(getattr(self, s.group), s.field.name)

    def items(self) -> Iterator[tuple[Setting, Any]]:
        """(setting, value) for every field of every group."""
        for s in SETTINGS.values():
            yield s, getattr(getattr(self, s.group), s.field.name)

    def flat(self) -> dict[str, Any]:
        return {s.name: value for s, value in self.items()}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested by group: what trial_config.yaml holds."""
        return {g: dataclasses.asdict(getattr(self, g)) for g in GROUPS}

    # shorthands for the fields every stage reads
    @property
    def model(self) -> str:
        return self.common.model

    @property
    def data(self) -> str:
        return self.common.data

    @property
    def seed(self) -> int:
        return self.common.seed

    @property
    def targets(self) -> list[str]:
        return self.target.targets

    @property
    def tasks(self) -> list[str]:
        return self.intermediate.tasks


def target_epochs(settings: TrialSettings, task: Any) -> float:
    """Fine-tuning epochs of a target: the setting, else the catalog's (jiant's) value; the
    synthetic sample, much smaller than the real sets, may ask for more passes."""
    if settings.target.epochs is not None:
        return float(settings.target.epochs)
    if settings.data == "sample" and "epochs" in task.sample:
        return float(task.sample["epochs"])
    return float(task.epochs or 2.0)


def given_cache(runtime: "RuntimeSettings") -> str | None:
    """The data / feature cache a trial was given: the setting, else $SWEEPER_CACHE (the
    one place the environment is read for it; resolving a trial keeps the answer)."""
    return runtime.cache_dir or os.environ.get("SWEEPER_CACHE")


def cache_root(runtime: "RuntimeSettings") -> Path:
    """The data / feature cache: the one given, else ~/.cache/sweeper on this node."""
    return Path(given_cache(runtime) or "~/.cache/sweeper").expanduser().resolve()
