"""Dynamic padding and length-grouped batches."""

from __future__ import annotations

import random

import datasets
import torch

from sweeper.model.batching import Columns, length_grouped, pad


def test_length_grouped_batches_cover_everything_once():
    lengths = [random.Random(i).randint(3, 60) for i in range(500)]
    batches = length_grouped(lengths, 16, random.Random(0))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(500))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    shuffled = [list(range(500))[i:i + 16] for i in range(0, 500, 16)]
    naive = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in shuffled)
    assert spread < naive / 3  # far less padding than arbitrary batches
    eval_batches = length_grouped(lengths, 16, None)
    assert [i for b in eval_batches for i in b] == sorted(range(500), key=lambda i: lengths[i])


def padded_by_rows(seqs: list[list[int]], value: int) -> torch.Tensor:
    """The plain per-row padding the gathered batches must equal."""
    width = -(-max(len(s) for s in seqs) // 8) * 8
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs])


def split(rows: dict[str, list]) -> datasets.Dataset:
    ids = rows["input_ids"]
    rows["length"] = [max(len(c) for c in x) if x and isinstance(x[0], list) else len(x)
                      for x in ids]
    return datasets.Dataset.from_dict(rows)


def test_batches_pad_to_batch_max_multiple_of_eight():
    ds = split({"input_ids": [[0, 5, 2], [0, 5, 6, 7, 8, 9, 10, 11, 12, 2]], "label": [1, 0]})
    out = Columns(ds, ["input_ids", "label"]).batch([0, 1], pad_id=1)
    assert out["input_ids"].shape == (2, 16)
    assert out["attention_mask"].sum().item() == 13
    assert out["label"].tolist() == [1, 0]
    mc = split({"input_ids": [[[0, 2], [0, 3, 2]], [[0, 4, 2], [0, 2]]], "label": [0, 1]})
    out = Columns(mc, ["input_ids", "label"]).batch([1, 0], pad_id=1)
    assert out["num_choices"] == 2 and isinstance(out["num_choices"], int)  # no device read
    assert torch.equal(out["input_ids"], padded_by_rows([[0, 4, 2], [0, 2], [0, 2], [0, 3, 2]], 1))


def test_gathered_batches_equal_row_by_row_padding():
    rng = random.Random(3)
    ids = [[rng.randint(2, 99) for _ in range(rng.randint(1, 40))] for _ in range(300)]
    labels = [[rng.randint(0, 6) for _ in x] for x in ids]
    ds = split({"input_ids": ids, "labels": labels,
                "start_positions": [rng.randint(0, 5) for _ in ids]})
    columns = Columns(ds.select(range(299, -1, -2)), ["input_ids", "labels", "start_positions"])
    kept = list(range(299, -1, -2))  # a selected (reordered) view reads its own rows
    seen = 0
    for idx, batch in columns.indexed(batch_size=16, pad_id=1, rng=random.Random(0)):
        assert torch.equal(batch["input_ids"], padded_by_rows([ids[kept[i]] for i in idx], 1))
        keep = padded_by_rows([ids[kept[i]] for i in idx], 1) != 1
        mask = batch["attention_mask"]  # 4D for SDPA, None without padding
        assert torch.equal(mask[:, 0, 0, :], keep) if mask is not None else keep.all()
        assert torch.equal(batch["labels"], padded_by_rows([labels[kept[i]] for i in idx], -100))
        assert batch["start_positions"].tolist() == [ds["start_positions"][kept[i]] for i in idx]
        seen += len(idx)
    assert seen == 150
    assert torch.equal(pad(ids[:5], 0), padded_by_rows(ids[:5], 0))
