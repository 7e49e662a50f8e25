"""Masked language modelling on running text (X-STILTs' continued multilingual MLM):
an intermediate task only, never a target. As X-STILTs ran it: XLM-R's pretrained LM head
(tied to the input embeddings) and a loss over the masked positions only.

Features: BERT's static masking, seeded by each row's index (the same masks on every
run, so the features can be cached): of the chosen 15% of tokens, 80% become <mask>,
10% a random token and 10% stay; labels hold the original id where masked, -100
elsewhere."""

from __future__ import annotations

from typing import Any

from sweeper.digest import seeded
from sweeper.tasktypes.base import IGNORE, TaskEntry, TaskType

MASK_RATE = 0.15


def mask_tokens(ids: list[list[int]], index: list[int], tok: Any) -> dict[str, list]:
    """Masked input ids and labels for each row, seeded by the row's index."""
    specials = set(tok.all_special_ids)
    inputs, labels = [], []
    for row, seq in zip(index, ids):
        rng = seeded("mlm-mask", row)
        masked, target = list(seq), [IGNORE] * len(seq)
        for i, token in enumerate(seq):
            if token in specials or rng.random() >= MASK_RATE:
                continue
            target[i] = token
            roll = rng.random()
            masked[i] = tok.mask_token_id if roll < 0.8 else \
                rng.randrange(len(tok)) if roll < 0.9 else token
        inputs.append(masked)
        labels.append(target)
    return {"input_ids": inputs, "labels": labels}


class MaskedLm(TaskType):
    name = "mlm"
    columns = ("text",)
    metrics = ("mlm_loss",)
    family = "text"
    labelled = False
    evaluates = False
    running_text = True
    train_columns = ("input_ids", "labels")
    loss_items = "tokens"

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        ids = tokenizer(batch["text"], truncation=True, max_length=max_length)["input_ids"]
        return mask_tokens(ids, batch["_index"], tokenizer)

    def num_outputs(self, task: TaskEntry, labels: list[str], tokenizer: Any) -> int:
        return len(tokenizer)  # a vocabulary-sized output per masked token

    def head(self, encoder: Any, num_outputs: int):
        """XLM-R's LM head, tied to the input embeddings, with the checkpoint's weights
        where it has them (the tiny model's starts as transformers initialises one)."""
        from sweeper.model.encoders import pretrained_lm_head
        from sweeper.model.heads import MaskedLmHead

        return MaskedLmHead(encoder, pretrained_lm_head(encoder.config._name_or_path))

    def prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        """On the host: the flat positions of the masked tokens and their original ids, so
        the head computes logits there only, with no device sync to find them."""
        flat = batch["labels"].flatten()
        positions = (flat != IGNORE).nonzero().squeeze(1)
        targets = flat[positions]
        if batch["labels"].is_pinned():
            positions, targets = positions.pin_memory(), targets.pin_memory()
        return {**batch, "positions": positions, "targets": targets}

    def outputs(self, model: Any, head: str, batch: dict[str, Any]):
        states = model.encode(batch["input_ids"], batch["attention_mask"])
        picked = states.flatten(0, 1).index_select(0, batch["positions"])
        return model.heads[head](picked)

    def loss(self, outputs, batch):
        import torch

        return torch.nn.functional.cross_entropy(outputs.float(), batch["targets"],
                                                 reduction="sum")


TYPE = MaskedLm()
