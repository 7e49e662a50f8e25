"""The training loop: the micro-batch changes no number (the loss is normalised over the
whole effective batch), a step makes no host sync, the pass limit bounds repetition,
the task sampler weighs tasks as asked."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

from sweeper.data.features import load_features
from sweeper.data.sources import make_source
from sweeper.model.encoders import TINY_SHAPE
from sweeper.model.heads import MultiTaskModel
from sweeper.model.train import (
    TrainArgs,
    TrainTask,
    optimizer_steps,
    task_weights,
    train,
)
from sweeper.trial.environment import load_tokenizer


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    return load_tokenizer("tiny", catalog, cache_root)


def _data(catalog, cache_root, tok, task: str, n: int):
    source = make_source("sample", catalog, cache_root)
    spec = catalog.task(task)
    ds = load_features(spec, "en", "train", source=source, tokenizer=tok, max_length=64,
                       cache_root=cache_root)
    return spec, ds.select(range(n))


def _model(tok, spec, dropout: float = 0.0) -> MultiTaskModel:
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                              type_vocab_size=1, hidden_dropout_prob=dropout,
                              attention_probs_dropout_prob=dropout, attn_implementation="sdpa",
                              **TINY_SHAPE)
    model = MultiTaskModel(XLMRobertaModel(config, add_pooling_layer=False))
    kind = spec.kind
    model.add_head("t", kind.head(model.encoder, kind.num_outputs(spec, list(spec.labels), tok)))
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = dropout
    return model


@pytest.mark.parametrize("task", ["mnli", "panx"])  # examples, and tokens, per batch
def test_micro_batches_change_no_number(task, catalog, cache_root, tok):
    """Dropout off, fp32: the loss curve and the trained model's predictions are the same
    computed as 4 x 8, 8 x 4 or 32 x 1 (up to the rounding of sums in another order)."""
    from sweeper.model.inference import head_outputs

    spec, ds = _data(catalog, cache_root, tok, task, 160)
    train_ds, held_out = ds.select(range(96)), ds.select(range(96, 160))
    start = _model(tok, spec)
    runs = {}
    for micro in (4, 8, None):
        model = copy.deepcopy(start)
        args = TrainArgs.of(epochs=2, batch_size=32, lr=3e-3, micro_batch=micro, seed=1,
                         log_every=1)
        done = train(model, [TrainTask("t", spec.kind, train_ds)], args,
                     pad_id=tok.pad_token_id, device=torch.device("cpu"))
        outputs = torch.cat([out.flatten(0, 1) if out.dim() == 3 else out
                             for _, out in head_outputs(model, spec.kind, "t", held_out,
                                                        batch_size=64, pad_id=tok.pad_token_id,
                                                        device=torch.device("cpu"),
                                                        precision="fp32")])
        runs[micro] = ([p["loss"] for p in done.history], outputs)
    losses, outputs = runs[None]
    for micro in (4, 8):
        other_losses, other_outputs = runs[micro]
        assert other_losses == pytest.approx(losses, rel=1e-5, abs=1e-6)
        assert torch.allclose(other_outputs, outputs, atol=1e-3)
        assert torch.equal(other_outputs.argmax(-1), outputs.argmax(-1))


def test_a_training_step_makes_no_host_sync(catalog, cache_root, tok, monkeypatch):
    spec, ds = _data(catalog, cache_root, tok, "panx", 64)
    model = _model(tok, spec, dropout=0.1)
    calls: list[str] = []
    # the ways a device value reaches the host (`.numpy()` needs `.cpu()` first on a GPU;
    # on the host it only views the batch being built, before anything is computed)
    originals = {name: getattr(torch.Tensor, name) for name in ("item", "__bool__", "cpu",
                                                                 "tolist")}

    def counting(name):
        def call(self, *args, **kwargs):
            calls.append(name)
            return originals[name](self, *args, **kwargs)
        return call

    args = TrainArgs.of(epochs=None, max_steps=6, batch_size=16, lr=1e-3, micro_batch=8,
                     log_every=1000)
    for name in originals:
        monkeypatch.setattr(torch.Tensor, name, counting(name))
    train(model, [TrainTask("t", spec.kind, ds)], args, pad_id=tok.pad_token_id,
          device=torch.device("cpu"))
    assert calls == [], calls  # the one read is the loss at the last step, by float()


def test_the_pass_limit_bounds_repetition():
    sizes, args = [1000, 50], TrainArgs.of(epochs=None, max_steps=1000, batch_size=10, lr=1.0,
                                        max_passes=3.0, sampling="uniform")
    weights = task_weights(sizes, "uniform", 1.0)
    planned, allowed = optimizer_steps(sizes, weights, args)
    assert planned == 1000 and allowed == 30  # the small task, drawn half the time, 3 passes
    assert optimizer_steps(sizes, weights, TrainArgs.of(epochs=None, max_steps=1000,
                                                     batch_size=10, lr=1.0)) == (1000, 1000)
    prop = task_weights(sizes, "proportional", 1.0)
    epochs = TrainArgs.of(epochs=3, batch_size=10, lr=1.0, max_passes=3.0)
    assert optimizer_steps(sizes, prop, epochs) == (315, 315)  # 3 passes: within the limit


def test_a_compiled_encoder_trains_to_the_same_numbers(catalog, cache_root, tok):
    """`compile: true` runs the encoder through torch.compile (here its eager backend, so
    no C compiler is needed); the losses are those of the plain module."""
    spec, ds = _data(catalog, cache_root, tok, "mnli", 64)
    start = _model(tok, spec)
    losses = []
    for compiled in (False, True):
        model = copy.deepcopy(start)
        if compiled:
            model.compile_encoder(backend="eager")
        args = TrainArgs.of(epochs=1, batch_size=16, lr=3e-3, seed=1, log_every=1)
        done = train(model, [TrainTask("t", spec.kind, ds)], args,
                     pad_id=tok.pad_token_id, device=torch.device("cpu"))
        losses.append([p["loss"] for p in done.history])
    assert len(losses[0]) == 4
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)


def test_task_sampling_weights():
    assert task_weights([100, 300], "proportional", 2) == [0.25, 0.75]
    assert task_weights([100, 300], "uniform", 2) == [0.5, 0.5]
    w = task_weights([100, 400], "temperature", 2)
    assert w == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(ValueError):
        task_weights([1], "zipf", 2)
