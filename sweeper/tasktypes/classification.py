"""Classification: one text -> one label (sentiment, topic)."""

from __future__ import annotations

from typing import Any

from sweeper.tasktypes._classes import ClassType
from sweeper.tasktypes.base import TaskEntry


class Classification(ClassType):
    name = "classification"
    columns = ("text", "label")

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        ids = tokenizer(batch["text"], truncation=True, max_length=max_length)["input_ids"]
        return {"input_ids": ids, "label": batch["label"]}

    def head(self, encoder: Any, num_outputs: int):
        from sweeper.model.heads import ClassificationHead

        return ClassificationHead(encoder.config.hidden_size, num_outputs)


TYPE = Classification()
