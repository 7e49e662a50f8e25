"""Batched head outputs for evaluation: length-sorted batches, eval mode, no gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import torch

from sweeper.model.batching import indexed, to_device
from sweeper.model.device import autocast
from sweeper.model.heads import MultiTaskModel

if TYPE_CHECKING:  # pragma: no cover
    import datasets


@torch.inference_mode()
def head_outputs(model: MultiTaskModel, tasktype: Any, head: str, ds: "datasets.Dataset | Any", *,
                 batch_size: int, pad_id: int, device: torch.device, precision: str
                 ) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(row indices, head outputs in float) per length-sorted batch of `ds`; `tasktype` is the
    task type, which shapes the outputs (sweeper.tasktypes)."""
    attention = getattr(model.encoder.config, "_attn_implementation", "sdpa") or "sdpa"
    for idx, batch in indexed(ds, batch_size=batch_size, pad_id=pad_id, rng=None,
                              columns=["input_ids"], pin=device.type == "cuda",
                              attention=attention):
        batch = to_device(batch, device)
        with autocast(device, precision):
            yield idx, tasktype.outputs(model, head, batch).float()
