"""The speed levers' settings and their CPU paths: `cuda_graphs=on` on a CPU falls back to
eager steps with one message and the same numbers; `compile=layers` compiles each
encoder layer in place (the weights' names unchanged) and trains to the same numbers."""

from __future__ import annotations

import copy

import pytest
import torch

from model.tiny import features, tiny_without_dropout
from sweeper.errors import ConfigError
from sweeper.model import levers
from sweeper.model.heads import MultiTaskModel
from sweeper.model.lever_settings import compile_mode
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.checks import check_settings
from sweeper.trial.environment import load_tokenizer
from sweeper.trial.reading import apply_overrides
from sweeper.trial.settings import TrialSettings

CPU = torch.device("cpu")


def test_the_settings_read_their_values_and_name_a_bad_one(catalog):
    base = TrialSettings.build(targets=["xnli"])
    for pairs in (["compile=layers", "cuda_graphs=on", "length_buckets=auto"],
                  ["compile=layers+graphs", "cuda_graphs=off", "length_buckets=64,128"],
                  ["compile=true"], ["compile=false"], ["length_buckets=off"]):
        check_settings(apply_overrides(base, pairs), catalog)
    assert compile_mode("true") == compile_mode(True) == "layers"
    assert compile_mode(False) == "off"  # the boolean of trials configured before
    for pair, culprit in (("compile=fast", "compile"), ("cuda_graphs=maybe", "cuda_graphs"),
                          ("length_buckets=wide", "length_buckets")):
        with pytest.raises(ConfigError, match=culprit):
            check_settings(apply_overrides(base, [pair]), catalog)


@pytest.fixture(scope="module")
def setup(catalog, cache_root):
    tok = load_tokenizer("tiny", catalog, cache_root)
    spec, ds = features(catalog, cache_root, tok, "mnli")
    return tok, spec, ds.select(range(64)), tiny_without_dropout(tok, {"t": (spec.tasktype, 3)})


def _losses(model: MultiTaskModel, setup) -> list[float]:
    tok, spec, ds, _ = setup
    args = TrainArgs.of(epochs=1, batch_size=16, lr=3e-3, seed=1, log_every=1,
                     length_buckets=(40, 64))
    done = train(model, [TrainTask("t", spec.tasktype, ds)], args, pad_id=tok.pad_token_id,
                 device=CPU)
    return [p["loss"] for p in done.history]


def test_graphs_on_a_cpu_fall_back_to_eager_steps_once(setup):
    said: list[str] = []
    start = setup[3]
    plain = _losses(copy.deepcopy(start), setup)
    model = copy.deepcopy(start)
    lever = levers.Levers(model.encoder, cuda_graphs="on", device=CPU, say=said.append)
    model.use_levers(lever)
    assert _losses(model, setup) == plain  # the eager step, exactly
    assert said == ["cuda_graphs=on: the device is a CPU; training steps run eagerly"]
    assert not lever.graphs and not lever.graphed
    # what a trial builds from its runtime settings: nothing to run on a CPU
    runtime = TrialSettings.build(cuda_graphs="on").runtime
    assert levers.build(model.encoder, runtime, CPU, say=said.append) is None
    assert levers.build(model.encoder, TrialSettings().runtime, CPU) is None  # auto: off


@pytest.mark.parametrize("backend", [
    "eager",  # dynamo traces each layer; what runs is the traced graph, no C compiler
    pytest.param("inductor", marks=pytest.mark.skip(
        reason="inductor's C++ build of the tiny layers took 73 s on these shared CPUs; "
               "bench/gpu_levers.py measures it on a GPU"))])
def test_compiled_layers_train_to_the_same_numbers(backend, setup):
    start = setup[3]
    plain = _losses(copy.deepcopy(start), setup)
    model = copy.deepcopy(start)
    names = [n for n, _ in model.named_parameters()]
    lever = levers.Levers(model.encoder, compile="layers", device=CPU, say=print,
                          backend=backend)
    model.use_levers(lever)
    assert _losses(model, setup) == pytest.approx(plain, rel=1e-5)
    assert [n for n, _ in model.named_parameters()] == names  # saved weights unchanged
    assert lever.seconds > 0  # the first pass at each shape: where compiling happens
    assert {ids[1] for ids, _ in lever.seen} <= {40, 64}  # the buckets' widths only
