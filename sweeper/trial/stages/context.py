"""What every step of a trial shares: settings, data, tokenizer, model, output; and what
the task types' evaluators may use of it (sweeper.tasktypes.base.EvalContext)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.features import label_names, load_examples, load_features
from sweeper.data.sources import DataSource
from sweeper.model import memory
from sweeper.model.heads import MultiTaskModel
from sweeper.model.inference import head_outputs
from sweeper.scoring import xtreme
from sweeper.trial.resolved import ResolvedTrial
from sweeper.trial.settings import cache_root

LogFn = Callable[[str, int, dict], None]


@dataclass
class TrialContext:
    """The resolved trial, catalog, data source, tokenizer, device and precision, the
    model, and the trial's output folder."""

    resolved: ResolvedTrial
    catalog: Catalog
    source: DataSource
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    precision: str
    out_dir: Path
    model: MultiTaskModel
    on_log: LogFn = field(default=lambda stage, step, values: None)
    memo: dict = field(default_factory=dict)  # what one job leaves for a later one

    def features(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        """Tokenized split; training splits capped by max_train_examples (first rows)."""
        ds = load_features(task, lang, split, source=self.source, tokenizer=self.tokenizer,
                           max_length=self.resolved.max_length[task.name],
                           cache_root=cache_root(self.resolved.runtime),
                           doc_stride=self.resolved.doc_stride)
        cap = self.resolved.training.max_train_examples if split == "train" else None
        return ds.select(range(min(cap, len(ds)))) if cap else ds

    def examples(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        """Normalised rows of a split (gold labels, contexts), cached like the features."""
        return load_examples(task, lang, split, self.source, cache_root(self.resolved.runtime))

    def label_names(self, task: TaskSpec) -> list[str]:
        return label_names(task, self.source)

    def num_outputs(self, task: TaskSpec) -> int:
        """Size of the task's head output (classes; masked LM: the vocabulary)."""
        return task.tasktype.num_outputs(task, self.label_names(task), self.tokenizer)

    def add_head(self, name: str, task: TaskSpec) -> None:
        """Give `name` the head of `task`'s type."""
        self.model.add_head(name, task.tasktype.head(self.model.encoder, self.num_outputs(task)))

    # --- what evaluators use ---------------------------------------------------------
    def example_cap(self, n: int) -> int:
        """How many of a split's `n` examples are evaluated (max_eval_examples counts
        examples, never windows)."""
        cap = self.resolved.max_eval_examples
        return min(n, cap) if cap else n

    def export_paths(self, job: Any) -> tuple[Path, Path]:
        """(prediction file, label file) of a job in the XTREME layout."""
        name = xtreme.file_name(job.target, job.lang, job.purpose)
        root = self.out_dir / "xtreme"
        return (root / "predictions" / job.target.name / name,
                root / "labels" / job.target.name / name)

    def head_name(self, task: TaskSpec) -> str:
        """A target's head: its training stage's (shared by the targets that share it)."""
        return self.resolved.target_stages.get(task.name, task.name)

    def head_outputs(self, tasktype: Any, task: TaskSpec, ds: datasets.Dataset,
                     batch_size: int | None = None) -> Iterator[tuple[list[int], torch.Tensor]]:
        """(row indices, head outputs) per length-sorted evaluation batch; the batch is
        sized by the device's memory (on a CPU: `batch_size`, else the type's default)."""
        head = self.head_name(task)
        size = memory.eval_batch(batch_size or getattr(tasktype, "eval_batch", 64),
                                 model=self.model, tasktype=tasktype, head=head,
                                 length=self.resolved.max_length[task.name], device=self.device,
                                 precision=self.precision,
                                 cache_root=cache_root(self.resolved.runtime))
        return head_outputs(self.model, tasktype, head, ds, batch_size=size,
                            pad_id=self.tokenizer.pad_token_id, device=self.device,
                            precision=self.precision)

    @property
    def retrieval_layer(self) -> int:
        return self.resolved.retrieval_layer

    @property
    def retrieval_pooling(self) -> str:
        return self.resolved.retrieval_pooling
