"""Length-grouped batches with dynamic padding.

Examples of similar length share a batch, and each batch is padded only to its own
longest example (rounded up to a multiple of 8 for tensor cores), so little compute
goes to padding.
"""

from __future__ import annotations

import random
from typing import Iterator

import datasets
import torch

PAD_MULTIPLE = 8
MEGA_BATCH = 50  # batches whose examples are sorted by length together


def length_grouped(lengths: list[int], batch_size: int, rng: random.Random | None
                   ) -> list[list[int]]:
    """Index batches: shuffled (rng given) or in length order (rng None, evaluation)."""
    order = list(range(len(lengths)))
    if rng is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(order)
    batches = []
    span = batch_size * MEGA_BATCH
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i], reverse=True)
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def pad(seqs: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    width = -(-width // PAD_MULTIPLE) * PAD_MULTIPLE
    out = torch.full((len(seqs), width), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def collate(rows: dict[str, list], pad_id: int) -> dict[str, torch.Tensor]:
    """Columnar rows -> padded tensors. Multiple choice is flattened to (B*C, L)."""
    out: dict[str, torch.Tensor] = {}
    ids = rows.get("input_ids")
    if ids is not None:
        if ids and isinstance(ids[0][0], list):  # multiple choice: B x C x L
            out["num_choices"] = len(ids[0])  # type: ignore[assignment]  # kept on the host
            ids = [choice for example in ids for choice in example]
        out["input_ids"] = pad(ids, pad_id)
        out["attention_mask"] = (out["input_ids"] != pad_id).long()
    for key in ("label", "labels", "start_positions", "end_positions"):
        if key in rows:
            out[key] = torch.tensor(rows[key], dtype=torch.long) if key != "labels" \
                else pad(rows[key], -100)
    return out


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Tensors copied to `device` without blocking; plain values (num_choices) kept."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


def indexed(ds: datasets.Dataset, *, batch_size: int, pad_id: int, rng: random.Random | None,
            columns: list[str]) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
    """One pass over `ds` in length-grouped batches: (row indices, collated tensors)."""
    sub = ds.select_columns([c for c in columns if c in ds.column_names])
    for idx in length_grouped(list(ds["length"]), batch_size, rng):
        yield idx, collate(sub[idx], pad_id)


def iterate(ds: datasets.Dataset, *, batch_size: int, pad_id: int, rng: random.Random | None,
            columns: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """One pass over `ds` in length-grouped batches of collated tensors."""
    for _, batch in indexed(ds, batch_size=batch_size, pad_id=pad_id, rng=rng, columns=columns):
        yield batch
