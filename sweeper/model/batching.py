"""Length-grouped batches with dynamic padding, gathered from columns read once.

Examples of similar length share a batch, and each batch is padded only to its own
longest example (rounded up to a multiple of 8 for tensor cores), so little compute
goes to padding; or, with length buckets (sweeper.model.buckets), to the smallest of a
few fixed widths, so a GPU meets few shapes. A split's columns are read once into flat
arrays (`Columns`); a batch is then gathered and padded by index arithmetic, with no
Python loop over its rows and no re-read of a column per epoch. Batches bound for a GPU
are built in pinned memory, so their copies to the device do not block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from sweeper.model.buckets import bucket

if TYPE_CHECKING:  # pragma: no cover
    import datasets

MEGA_BATCH = 50  # batches whose examples are sorted by length together
LABEL_PAD = -100  # what token labels are padded with (ignored by the loss)


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
    """Python lists -> one padded tensor (for token lists that are not a Dataset)."""
    return Ragged.of(seqs).gather(np.arange(len(seqs)), value)


@dataclass
class Ragged:
    """A column of variable-length rows as one flat array plus each row's start and length."""

    values: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, seqs: list[list[int]]) -> Ragged:
        return cls.from_arrow(pa.array(seqs, type=pa.list_(pa.int64())))

    @classmethod
    def from_arrow(cls, arr: pa.Array) -> Ragged:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        values = arr.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return cls(values, starts, lengths)

    def gather(self, rows: np.ndarray, value: int, pin: bool = False,
               widths: Sequence[int] = ()) -> torch.Tensor:
        """Rows `rows`, padded with `value` to the longest of them (rounded up to 8), or
        to the smallest of the bucket `widths` that holds them (sweeper.model.buckets)."""
        lengths = self.lengths[rows]
        width = bucket(int(lengths.max()), widths)
        out = torch.full((len(rows), width), value, dtype=torch.long, pin_memory=pin)
        cols = np.arange(width)
        keep = cols[None, :] < lengths[:, None]
        out.numpy()[keep] = self.values[(self.starts[rows][:, None] + cols[None, :])[keep]]
        return out


def sdpa_mask(lengths: np.ndarray, width: int, pin: bool = False) -> torch.Tensor | None:
    """The padding mask of rows of `lengths` padded to `width`, built on the host as the
    4D boolean mask (batch, 1, 1, keys) that transformers passes to SDPA as it is; None
    when nothing is padded. (Given a 2D mask, transformers asks the device whether it is
    all ones: a host sync per forward pass.)"""
    lengths = np.asarray(lengths)
    if (lengths == width).all():
        return None
    keep = torch.from_numpy(np.arange(width)[None, :] < lengths[:, None])[:, None, None, :]
    return keep.pin_memory() if pin else keep


class Columns:
    """A tokenized split's batch columns, read once (from a `datasets.Dataset` or a pyarrow
    table with a `length` column). Multiple choice (a list of choices per example) is kept
    as one row per (example, choice), `choices` rows per example. `attention`: the encoder's
    attention implementation; for `sdpa` the padding mask is built here on the host, as
    the 4D mask transformers takes as-is (None without padding), so a step needs no host
    sync to find out whether a batch is padded."""

    def __init__(self, ds: Any, columns: list[str], pin: bool = False,
                 attention: str = "sdpa"):
        names = ds.column_names
        wanted = [c for c in columns if c in names]
        table = ds.select(wanted + ["length"]) if isinstance(ds, pa.Table) else \
            ds.select_columns(wanted + ["length"]).with_format("arrow")[:]
        self.pin, self.attention = pin, attention
        self.lengths: list[int] = table.column("length").to_pylist()
        table = table.select(wanted)
        self.choices = 0
        self.ragged: dict[str, Ragged] = {}
        self.scalars: dict[str, np.ndarray] = {}
        for name in table.column_names:
            arr = table.column(name).combine_chunks()
            if pa.types.is_list(arr.type) and pa.types.is_list(arr.type.value_type):
                per_example = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
                if len(per_example) and (per_example != per_example[0]).any():
                    raise ValueError(f"column '{name}': examples differ in their number of "
                                     "choices")
                self.choices = int(per_example[0]) if len(per_example) else 0
                arr = arr.flatten()
            if pa.types.is_list(arr.type):
                self.ragged[name] = Ragged.from_arrow(arr)
            else:  # class indices as int64; a float target (a regression score) as float32
                values = arr.to_numpy(zero_copy_only=False)
                kind = np.float32 if np.issubdtype(values.dtype, np.floating) else np.int64
                self.scalars[name] = values.astype(kind)

    def order(self, batch_size: int, rng: random.Random | None) -> list[list[int]]:
        """One pass in length-grouped batches of row indices (shuffled with `rng`)."""
        return length_grouped(self.lengths, batch_size, rng)

    def items(self, kind: str) -> np.ndarray:
        """What a loss counts in each row: 1 per example, or (`tokens`) its labelled
        tokens; the normaliser of an effective batch, known on the host."""
        if kind == "tokens":
            labels = self.ragged["labels"]
            counted = np.concatenate([[0], np.cumsum(labels.values != LABEL_PAD)])
            return counted[labels.starts + labels.lengths] - counted[labels.starts]
        return np.ones(len(self.lengths), dtype=np.int64)


    def tokens(self, idx: list[int]) -> int:
        """The real (unpadded) tokens of rows `idx`, every choice counted."""
        column = self.ragged["input_ids"]
        rows = np.asarray(idx, dtype=np.int64)
        if self.choices:
            rows = (rows[:, None] * self.choices + np.arange(self.choices)).ravel()
        return int(column.lengths[rows].sum())

    def batch(self, idx: list[int], pad_id: int, widths: Sequence[int] = ()) -> dict[str, Any]:
        """Rows `idx` as padded tensors (to the bucket `widths` where given). Multiple
        choice is flattened to (B*C, L)."""
        rows = np.asarray(idx, dtype=np.int64)
        out: dict[str, Any] = {}
        for name, column in self.ragged.items():
            value = LABEL_PAD if name == "labels" else pad_id
            picked = rows
            if name == "input_ids" and self.choices:
                out["num_choices"] = self.choices  # a host int
                picked = (rows[:, None] * self.choices + np.arange(self.choices)).ravel()
            out[name] = column.gather(picked, value, self.pin, widths)
            if name == "input_ids":
                lengths = column.lengths[picked]
                out["attention_mask"] = sdpa_mask(lengths, out[name].shape[1], self.pin) \
                    if self.attention == "sdpa" else self._long_mask(out[name], pad_id)
        for name, values in self.scalars.items():
            tensor = torch.from_numpy(values[rows])
            out[name] = tensor.pin_memory() if self.pin else tensor
        return out

    def _long_mask(self, ids: torch.Tensor, pad_id: int) -> torch.Tensor:
        mask = (ids != pad_id).long()
        return mask.pin_memory() if self.pin else mask

    def indexed(self, *, batch_size: int, pad_id: int, rng: random.Random | None
                ) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """One pass in length-grouped batches: (row indices, collated tensors)."""
        for idx in self.order(batch_size, rng):
            yield idx, self.batch(idx, pad_id)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Tensors copied to `device` without blocking; plain values (num_choices) kept."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


def indexed(ds: "datasets.Dataset", *, batch_size: int, pad_id: int, rng: random.Random | None,
            columns: list[str], pin: bool = False,
            attention: str = "sdpa") -> Iterator[tuple[list[int], dict[str, Any]]]:
    """One pass over `ds` in length-grouped batches: (row indices, collated tensors)."""
    yield from Columns(ds, columns, pin, attention).indexed(batch_size=batch_size,
                                                            pad_id=pad_id, rng=rng)
