"""Multiple choice: a context (and question) with N choices -> the index of the right one.

Each (context, choice) pair is encoded and scored by a one-output head; the example's
scores over its choices are the class scores.
"""

from __future__ import annotations

from typing import Any

from sweeper.tasktypes._classes import ClassType
from sweeper.tasktypes.base import TaskEntry, column, label_index

# choices per example in a memory probe (per type, not per task: most catalog tasks have
# 4; the 5-choice ones probe a little low)
PROBED_CHOICES = 4


class MultipleChoice(ClassType):
    name = "multiple_choice"
    columns = ("choices", "label")
    optional = ("context", "question")

    def normalize(self, task: TaskEntry, batch: dict[str, list], tag_names: list[str]
                  ) -> dict[str, list]:
        """`choices` is one list column, a nested field, or one column per choice."""
        cols = task.columns
        spec = cols["choices"]
        if isinstance(spec, list):
            choices = [list(c) for c in zip(*(column(batch, p, task) for p in spec))]
        else:
            choices = [list(c) for c in column(batch, spec, task)]
        n = len(choices)
        parts = [column(batch, cols[k], task) if k in cols else [""] * n
                 for k in ("context", "question")]
        context = [" ".join(x for x in pair if x) for pair in zip(*parts)]
        labels = [label_index(task, x) for x in column(batch, cols["label"], task)]
        return {"context": context, "choices": choices, "label": labels}

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        ids = [tokenizer([c] * len(ch), ch, truncation="longest_first",
                         max_length=max_length)["input_ids"]
               for c, ch in zip(batch["context"], batch["choices"])]
        return {"input_ids": ids, "label": batch["label"]}

    def num_outputs(self, task: TaskEntry, labels: list[str], tokenizer: Any) -> int:
        return 1  # one score per (context, choice) pair

    def head(self, encoder: Any, num_outputs: int):
        from sweeper.model.heads import ClassificationHead

        return ClassificationHead(encoder.config.hidden_size, num_outputs)

    def dummy_batch(self, size: int, length: int) -> dict[str, Any]:
        """As the base's, with PROBED_CHOICES sequences per example."""
        import torch

        batch = super().dummy_batch(size, length)
        batch["input_ids"] = torch.full((size * PROBED_CHOICES, length), 5)
        batch["num_choices"] = PROBED_CHOICES
        return batch

    def outputs(self, model: Any, head: str, batch: dict[str, Any]):
        """One row of choice scores per example (the batch holds B x C sequences)."""
        out = model(head, batch["input_ids"], batch["attention_mask"])
        return out.view(-1, batch["num_choices"])  # a plain int: no device sync


TYPE = MultipleChoice()
