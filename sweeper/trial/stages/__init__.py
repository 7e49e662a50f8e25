"""The steps of one trial, each a module with a `run(ctx, ...)` function.

1. intermediate: multi-task training of the shared encoder on the intermediate tasks
2. evaluate (retrieval): BUCC / Tatoeba straight from the encoder, no training
3. target: fine-tuning on the target's English training data
4. evaluate: zero-shot predictions on every language, written in the XTREME layout
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from sweeper.catalog import Catalog, TaskSpec
from sweeper.trial.settings import TrialConfig
from sweeper.data.features import label_names, load_features
from sweeper.data.sources import DataSource
from sweeper.model.heads import MultiTaskModel
from sweeper.model.train import TrainArgs

LogFn = Callable[[str, int, dict], None]


@dataclass
class TrialContext:
    """What every stage of a trial shares: settings, data, tokenizer, model, output."""

    config: TrialConfig
    catalog: Catalog
    source: DataSource
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    out_dir: Path
    model: MultiTaskModel
    on_log: LogFn = field(default=lambda stage, step, values: None)

    def max_length(self, task: TaskSpec) -> int:
        limit = self.model.encoder.config.max_position_embeddings - 2
        return min(self.config.max_seq_len or task.max_length, limit)

    def features(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        """Tokenized split, capped by max_train/eval_examples (first rows: deterministic)."""
        ds = load_features(task, lang, split, self.source, self.tokenizer, self.max_length(task),
                           self.config.cache_root(), self.config.doc_stride)
        cap = self.config.max_train_examples if split == "train" else self.config.max_eval_examples
        return ds.select(range(min(cap, len(ds)))) if cap else ds

    def num_labels(self, task: TaskSpec) -> int:
        return len(label_names(task, self.source))

    def train_args(self, epochs: float, seed_offset: int) -> TrainArgs:
        c = self.config
        return TrainArgs(epochs=epochs, batch_size=c.batch_size, lr=c.effective_lr(),
                         weight_decay=c.weight_decay, warmup_ratio=c.warmup_ratio,
                         grad_accum=c.grad_accum, sampling=c.sampling,
                         temperature=c.temperature, seed=c.seed * 7919 + seed_offset)
