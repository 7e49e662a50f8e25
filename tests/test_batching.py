"""Dynamic padding, length-grouped batches and the task sampler."""

from __future__ import annotations

import random

import pytest

from sweeper.model.batching import collate, length_grouped
from sweeper.model.train import task_weights


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


def test_collate_pads_to_batch_max_multiple_of_eight():
    out = collate({"input_ids": [[0, 5, 2], [0, 5, 6, 7, 8, 9, 10, 11, 12, 2]], "label": [1, 0]},
                  pad_id=1)
    assert out["input_ids"].shape == (2, 16)
    assert out["attention_mask"].sum().item() == 13
    mc = collate({"input_ids": [[[0, 2], [0, 3, 2]], [[0, 4, 2], [0, 2]]], "label": [0, 1]}, 1)
    assert mc["input_ids"].shape == (4, 8) and int(mc["num_choices"]) == 2


def test_task_sampling_weights():
    assert task_weights([100, 300], "proportional", 2) == [0.25, 0.75]
    assert task_weights([100, 300], "uniform", 2) == [0.5, 0.5]
    w = task_weights([100, 400], "temperature", 2)
    assert w == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(ValueError):
        task_weights([1], "zipf", 2)
