"""What every step of a trial shares: settings, data, tokenizer, model, output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.features import label_names, load_examples, load_features
from sweeper.data.sources import DataSource
from sweeper.model.heads import MultiTaskModel
from sweeper.trial.settings import TrialSettings

LogFn = Callable[[str, int, dict], None]


@dataclass
class TrialContext:
    """Settings, catalog, data source, tokenizer, device and precision, the model, and the
    trial's output folder."""

    settings: TrialSettings
    catalog: Catalog
    source: DataSource
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    precision: str
    out_dir: Path
    model: MultiTaskModel
    on_log: LogFn = field(default=lambda stage, step, values: None)
    memo: dict = field(default_factory=dict)  # what one job leaves for a later one
    def max_length(self, task: TaskSpec) -> int:
        limit = self.model.encoder.config.max_position_embeddings - 2
        return min(self.settings.training.max_seq_len or task.max_length, limit)

    def features(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        """Tokenized split; training splits capped by max_train_examples (first rows)."""
        ds = load_features(task, lang, split, source=self.source, tokenizer=self.tokenizer,
                           max_length=self.max_length(task),
                           cache_root=self.settings.cache_root(),
                           doc_stride=self.settings.training.doc_stride)
        cap = self.settings.training.max_train_examples if split == "train" else None
        return ds.select(range(min(cap, len(ds)))) if cap else ds

    def examples(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        """Normalised rows of a split (gold labels, contexts), cached like the features."""
        return load_examples(task, lang, split, self.source, self.settings.cache_root())

    def num_labels(self, task: TaskSpec) -> int:
        """Classes of the task's head (masked LM: the tokenizer's vocabulary)."""
        if task.type == "mlm":
            return len(self.tokenizer)
        return len(label_names(task, self.source))
