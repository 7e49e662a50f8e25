"""Typed trial settings, validated against the catalog (unknown keys are errors).

`TrialConfig` is everything one trial needs; its field docs become `--set` help.
Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from sweeper.catalog import Catalog
from sweeper.errors import ConfigError

SAMPLINGS = ("proportional", "uniform", "temperature")
SUPPORTED_TYPES = ("classification", "pair_classification", "multiple_choice", "retrieval",
                   "token_classification", "qa")


def doc(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    """A dataclass field that carries its documentation."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": text}, **kw)
    return field(default=default, metadata={"doc": text}, **kw)


@dataclass
class TrialConfig:
    """One trial: intermediate tasks -> English fine-tuning -> zero-shot evaluation."""

    targets: list[str] = doc("XTREME target tasks evaluated by this trial", [])
    intermediate: list[str] = doc("intermediate tasks, trained together (empty: baseline)", [])
    model: str = doc("encoder: hub id, local path, or 'tiny'", "xlm-roberta-large")
    data: str = doc("data source: 'sample' (synthetic), 'hub', or a local data directory",
                    "sample")
    eval_languages: list[str] = doc("languages or groups to evaluate (empty: all of each "
                                    "target's languages)", [])
    seed: int = doc("random seed (model init, data order, task sampling)", 0)
    lr: float | None = doc("peak learning rate (default: 1e-5, or 3e-3 for tiny)", None)
    batch_size: int = doc("examples per step (per task batch in multi-task training)", 32)
    intermediate_epochs: float = doc("passes over the summed intermediate training sets", 3.0)
    target_epochs: float | None = doc("target fine-tuning epochs (default: catalog's per "
                                      "target)", None)
    max_seq_len: int | None = doc("max tokens per example (default: each task's catalog "
                                  "max_length)", None)
    sampling: str = doc("multi-task sampling: proportional, uniform or temperature",
                        "proportional")
    temperature: float = doc("temperature for temperature sampling (n^(1/T))", 2.0)
    weight_decay: float = doc("AdamW weight decay", 0.01)
    warmup_ratio: float = doc("share of steps with linear warmup", 0.1)
    grad_accum: int = doc("micro-batches per optimizer step", 1)
    max_train_examples: int | None = doc("cap on each training split (quick runs)", None)
    max_eval_examples: int | None = doc("cap on each evaluation split (quick runs)", None)
    retrieval_layer: int | None = doc("hidden layer mean-pooled for retrieval (default: "
                                      "layer 14 of 24, scaled to the model's depth)", None)
    doc_stride: int = doc("QA: overlap between windows of a long context, in tokens", 128)
    device: str = doc("'auto' (GPU when there is one), 'cpu' or 'cuda'", "auto")
    cache_dir: str | None = doc("data / feature cache (default: $SWEEPER_CACHE or "
                                "~/.cache/sweeper)", None)

    def effective_lr(self) -> float:
        return self.lr if self.lr is not None else (3e-3 if self.model == "tiny" else 1e-5)

    def cache_root(self) -> Path:
        root = self.cache_dir or os.environ.get("SWEEPER_CACHE") or "~/.cache/sweeper"
        return Path(root).expanduser().resolve()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, catalog: Catalog) -> "TrialConfig":
        """Raise ConfigError naming the first bad setting; returns self."""
        if not self.targets:
            raise ConfigError("a trial needs at least one target (--target)")
        for name in self.targets:
            task = catalog.task(name)
            if not task.is_target:
                raise ConfigError(f"'{name}' is not a target task (role {task.role})")
        for name in self.intermediate:
            task = catalog.task(name)
            if not task.is_intermediate:
                raise ConfigError(f"'{name}' is not an intermediate task (role {task.role})")
        if len(set(self.intermediate)) != len(self.intermediate):
            raise ConfigError(f"intermediate tasks repeat: {self.intermediate}")
        for name in self.targets + self.intermediate:
            if catalog.task(name).type not in SUPPORTED_TYPES:
                raise ConfigError(f"task '{name}' of type {catalog.task(name).type} is not "
                                  "supported by the trial pipeline yet")
        catalog.expand_languages(self.eval_languages)
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"sampling '{self.sampling}' is not one of {', '.join(SAMPLINGS)}")
        positive = {"batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "intermediate_epochs": self.intermediate_epochs + 1e-9,
                    "temperature": self.temperature, "doc_stride": self.doc_stride}
        for key in ("lr", "target_epochs", "max_seq_len", "max_train_examples",
                    "max_eval_examples"):
            if getattr(self, key) is not None:
                positive[key] = getattr(self, key)
        for key, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{key} must be > 0 (got {value})")
        if self.intermediate_epochs < 0:
            raise ConfigError("intermediate_epochs must be >= 0")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device '{self.device}' is not auto, cpu or cuda")
        return self

    def eval_langs(self, catalog: Catalog, target: str) -> list[str]:
        """The languages of `target` this trial evaluates."""
        langs = catalog.task(target).languages
        if not self.eval_languages:
            return list(langs)
        wanted = set(catalog.expand_languages(self.eval_languages))
        return [lang for lang in langs if lang in wanted]

    def protocols(self, catalog: Catalog) -> dict[str, str]:
        """Per target: zero_shot, or the protocol an intermediate task breaks it with."""
        out = {}
        for target in self.targets:
            kinds = [catalog.task(t).protocol.kind for t in self.intermediate
                     if catalog.task(t).breaks_zero_shot([target])]
            out[target] = kinds[0] if kinds else "zero_shot"
        return out


FIELD_TYPES = {f.name: f for f in fields(TrialConfig)}


def parse_value(key: str, raw: Any) -> Any:
    """Coerce a `--set key=value` (or YAML) value to the field's type."""
    if key not in FIELD_TYPES:
        raise ConfigError(f"unknown setting '{key}' (known: {', '.join(FIELD_TYPES)})")
    ftype = str(FIELD_TYPES[key].type)
    value = yaml.safe_load(raw) if isinstance(raw, str) else raw
    if value is None:
        if "None" not in ftype:
            raise ConfigError(f"setting '{key}' cannot be empty")
        return None
    try:
        if ftype.startswith("list"):
            items = value if isinstance(value, list) else str(value).split(",")
            return [str(x).strip() for x in items if str(x).strip()]
        if ftype.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if ftype.startswith("float"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting '{key}': cannot read {raw!r} as {ftype}") from None


def apply_overrides(config: TrialConfig, pairs: list[str]) -> TrialConfig:
    """Apply `key=value` strings (the CLI's --set) to a copy of `config`."""
    updates = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set expects key=value, got '{pair}'")
        updates[key.strip()] = parse_value(key.strip(), raw)
    return dataclasses.replace(config, **updates)


def trial_config_from_dict(data: dict[str, Any]) -> TrialConfig:
    """A TrialConfig from a mapping (e.g. trial_config.yaml); unknown keys are errors."""
    return TrialConfig(**{k: parse_value(k, v) for k, v in data.items()})
