"""The offline `small` encoder: the tiny model's tokenizer, a wider and deeper XLM-R
shape, random init; larger than tiny, its own identity, and the size the fidelity
ladder orders it by."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

from sweeper.model import encoders
from sweeper.space.fidelity import SHAPES, encoder_size
from sweeper.trial.environment import load_tokenizer
from sweeper.trial.settings import TINY_LR


def _parameters(model: torch.nn.Module, embeddings: bool) -> int:
    return sum(p.numel() for name, p in model.named_parameters()
               if embeddings or not name.startswith("embeddings."))


def test_small_loads_offline_and_is_larger_than_tiny(catalog, cache_root):
    tokenizer = load_tokenizer("small", catalog, cache_root)
    assert len(tokenizer) == len(load_tokenizer("tiny", catalog, cache_root))
    tiny = encoders.load_encoder("tiny", tokenizer, seed=0)
    small = encoders.load_encoder("small", tokenizer, seed=0)
    assert small.config.hidden_size > tiny.config.hidden_size
    assert small.config.num_hidden_layers > tiny.config.num_hidden_layers
    assert _parameters(small, True) > 2 * _parameters(tiny, True)
    batch = tokenizer(["a short sentence", "another"], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = small(**batch).last_hidden_state
    assert out.shape[-1] == 256 and torch.isfinite(out).all()
    again = encoders.load_encoder("small", tokenizer, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(small.parameters(), again.parameters()))


def test_the_ladder_orders_the_offline_encoders_by_their_real_size(catalog, cache_root):
    tokenizer = load_tokenizer("tiny", catalog, cache_root)
    for name in ("tiny", "small"):
        model = encoders.load_encoder(name, tokenizer, seed=0)
        assert encoder_size(name) == _parameters(model, embeddings=False), name
        shape = encoders.OFFLINE[name]
        assert SHAPES[name] == (shape["hidden_size"], shape["num_hidden_layers"],
                                shape["intermediate_size"])


def test_small_has_its_own_identity_shape_and_no_pretrained_head():
    assert encoders.model_identity("small").startswith("small:v1:")
    assert encoders.model_identity("tiny") == \
        f"tiny:v{encoders.TINY_VERSION}:{encoders.digest(encoders.TINY_SHAPE, 12)}"
    assert encoders.shape("small") == (4, 512) and encoders.shape("tiny") == (2, 512)
    assert encoders.pretrained_lm_head("small") is None


@pytest.mark.slow
def test_a_trial_runs_offline_on_small(tmp_path):
    """The whole trial on `small`: no hub asked, the tiny tokenizer, the random-init
    learning rate, a score per language."""
    out = tmp_path / "trial"
    done = run_cli("trial", "--target", "xnli", "--intermediate", "sst2", "--model", "small",
                   "--out", str(out), "--set", "examples_total=200", "--set",
                   "intermediate_epochs=1", "--set", "target_epochs=1", "--set",
                   "max_train_examples=200", "--set", "max_eval_examples=50", "--set",
                   "eval_languages=en,sw")
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "small" and metrics["settings"]["lr"] == TINY_LR
    assert set(metrics["test"]["zero_shot"]["xnli"]) == {"en", "sw"}
