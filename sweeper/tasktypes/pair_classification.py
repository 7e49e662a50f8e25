"""Sentence-pair classification: two texts -> one label (NLI, paraphrase)."""

from __future__ import annotations

from typing import Any

from sweeper.tasktypes._classes import ClassType
from sweeper.tasktypes.base import TaskEntry


class PairClassification(ClassType):
    name = "pair_classification"
    columns = ("text_a", "text_b", "label")

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        ids = tokenizer(batch["text_a"], batch["text_b"], truncation="longest_first",
                        max_length=max_length)["input_ids"]
        return {"input_ids": ids, "label": batch["label"]}

    def head(self, encoder: Any, num_outputs: int):
        from sweeper.model.heads import ClassificationHead

        return ClassificationHead(encoder.config.hidden_size, num_outputs)


TYPE = PairClassification()
