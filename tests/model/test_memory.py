"""The memory probe's dummy batch comes from the task type and runs through its head, outputs
and loss as a training batch does (on the CPU here: the probe itself runs on a GPU only)."""

from __future__ import annotations

import pytest
import torch

from sweeper import tasktypes
from sweeper.model import memory
from sweeper.model.encoders import load_encoder
from sweeper.model.heads import MultiTaskModel
from sweeper.trial.environment import load_tokenizer

TRAINED = [name for name in tasktypes.names() if tasktypes.get(name).trains]


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    return load_tokenizer("tiny", catalog, cache_root)


@pytest.mark.parametrize("name", TRAINED)
def test_every_trained_type_gives_a_dummy_batch_its_loss_runs_on(name, catalog, tok):
    kind = tasktypes.get(name)
    task = next(t for t in catalog.tasks.values() if t.type == name and
                (t.labels or not kind.labelled))
    torch.manual_seed(0)
    model = MultiTaskModel(load_encoder("tiny", tok, seed=0))
    model.add_head(name, kind.head(model.encoder, kind.num_outputs(task, list(task.labels),
                                                                    tok)))
    batch = memory._dummy(kind, 3, 12, torch.device("cpu"))
    outputs = kind.outputs(model, name, batch)
    assert outputs.shape[0] in (3, 3 * 12)  # per example, or per token
    loss = kind.loss(outputs, batch)
    loss.backward()
    assert torch.isfinite(loss.detach())
    assert any(p.grad is not None for p in model.parameters())


def test_a_multiple_choice_dummy_holds_its_choices_per_example():
    kind = tasktypes.get("multiple_choice")
    batch = kind.dummy_batch(3, 12)
    assert batch["input_ids"].shape == (3 * batch["num_choices"], 12)
    assert batch["label"].shape == (3,)
