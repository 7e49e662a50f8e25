"""The whole step (sweeper.model.whole_step), run uncaptured on the CPU through the loop:
its optimizer (fused AdamW over a device learning rate, state made by an update that
moves nothing), zeroing and clipping give the eager loop's numbers; where it cannot hold
(several tasks, micro-batches) the loop says so once and steps as before."""

from __future__ import annotations

import copy

import pytest
import torch

from model.tiny import features, tiny_without_dropout
from sweeper.model.heads import MultiTaskModel
from sweeper.model.levers import Levers
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.environment import load_tokenizer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def setup(catalog, cache_root):
    tok = load_tokenizer("tiny", catalog, cache_root)
    spec, ds = features(catalog, cache_root, tok, "mnli")
    # a second head, not trained here: the step leaves it be
    heads = {name: (spec.tasktype, 3) for name in ("t", "other")}
    return tok, spec, ds.select(range(64)), tiny_without_dropout(tok, heads)


def _run(model: MultiTaskModel, setup, names=("t",), micro: int | None = None):
    tok, spec, ds, _ = setup
    args = TrainArgs.of(epochs=2, batch_size=16, lr=3e-3, seed=1, log_every=1, micro_batch=micro,
                     length_buckets=(40, 64), weight_decay=0.1)
    tasks = [TrainTask(n, spec.tasktype, ds) for n in names]
    return train(model, tasks, args, pad_id=tok.pad_token_id, device=CPU)


def test_the_whole_step_gives_the_eager_loop_s_numbers(setup):
    start = setup[3]
    plain_model = copy.deepcopy(start)
    plain = [p["loss"] for p in _run(plain_model, setup).history]
    model = copy.deepcopy(start)
    said: list[str] = []
    lever = Levers(model.encoder, cuda_graphs="on", device=CPU, say=said.append)
    lever.whole = True  # what a GPU sets; on a CPU the step runs uncaptured
    model.use_levers(lever)
    done = _run(model, setup)
    assert lever.stepper is not None and not lever.stepper.graphs  # it ran, uncaptured
    assert [p["loss"] for p in done.history] == pytest.approx(plain, rel=1e-5)
    for (name, a), b in zip(model.named_parameters(), plain_model.parameters()):
        assert torch.allclose(a, b, atol=1e-5), name  # the untrained head too: no decay
    assert said == ["cuda_graphs=on: the device is a CPU; training steps run eagerly"]


def test_where_the_whole_step_cannot_hold_the_loop_says_so_once(setup):
    start = setup[3]
    for names, micro, why in ((("t", "other"), None, "a multi-task phase draws a head"),
                              (("t",), 8, "the effective batch runs in micro-batches")):
        plain = [p["loss"] for p in _run(copy.deepcopy(start), setup, names, micro).history]
        model = copy.deepcopy(start)
        said: list[str] = []
        lever = Levers(model.encoder, cuda_graphs="on", device=CPU, say=said.append)
        lever.whole = True
        model.use_levers(lever)
        assert [p["loss"] for p in _run(model, setup, names, micro).history] == plain
        _run(model, setup, names, micro)  # a second stage: not said again
        assert lever.stepper is None and sum(why in s for s in said) == 1, said
