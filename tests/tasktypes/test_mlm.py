"""Masked language modelling as X-STILTs ran it: BERT's static masking, XLM-R's own LM
head tied to the input embeddings, logits and loss over the masked positions only."""

from __future__ import annotations

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from sweeper.data.features import load_features
from sweeper.data.sources import make_source
from sweeper.model.batching import Columns
from sweeper.model.encoders import TINY_SHAPE, load_encoder
from sweeper.model.heads import MaskedLmHead, MultiTaskModel
from sweeper.tasktypes.mlm import TYPE as MLM
from sweeper.tasktypes.mlm import mask_tokens
from sweeper.trial.environment import load_tokenizer


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    return load_tokenizer("tiny", catalog, cache_root)


@pytest.fixture(scope="module")
def text(catalog, cache_root, tok):
    spec = catalog.task("mlm_sw")
    return load_features(spec, "sw", "train", source=make_source("sample", catalog, cache_root),
                         tokenizer=tok, max_length=64, cache_root=cache_root)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, tok, text):
    """A small masked-LM checkpoint (trained briefly on the sample text), with its head."""
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                              type_vocab_size=1, **TINY_SHAPE)
    model = XLMRobertaForMaskedLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    columns = Columns(text.select(range(384)), ["input_ids", "labels"], attention="eager")
    for epoch in range(8):
        for _, batch in columns.indexed(batch_size=32, pad_id=tok.pad_token_id, rng=None):
            loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         labels=batch["labels"]).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("mlm") / "checkpoint"
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return str(folder)


def _first_loss(model: MultiTaskModel, text, tok) -> float:
    columns = Columns(text, ["input_ids", "labels"])
    idx = list(range(64))
    batch = MLM.prepare(columns.batch(idx, tok.pad_token_id))
    with torch.no_grad():
        logits = MLM.outputs(model, "mlm", batch)
        assert logits.shape[0] == int((batch["labels"] != -100).sum())  # masked tokens only
        return float(MLM.loss(logits, batch)) / logits.shape[0]


@pytest.mark.slow
def test_the_pretrained_head_starts_far_below_a_random_one(pretrained, tok, text):
    encoder = load_encoder(pretrained, tok, seed=0)
    with_head = MultiTaskModel(encoder)
    with_head.add_head("mlm", MLM.head(encoder, len(tok)))
    head = with_head.heads["mlm"].head
    assert head.decoder.weight is encoder.get_input_embeddings().weight  # tied, as XLM-R
    random = MultiTaskModel(load_encoder(pretrained, tok, seed=0))
    random.add_head("mlm", MaskedLmHead(random.encoder, None))
    ours, fresh = _first_loss(with_head.eval(), text, tok), _first_loss(random.eval(), text, tok)
    assert ours < 0.6 * fresh, (ours, fresh)


def test_the_tiny_model_gets_the_same_head_newly_made():
    from sweeper.model.encoders import pretrained_lm_head

    assert pretrained_lm_head("tiny") is None


def test_mlm_masking_is_static_seeded_and_at_the_bert_rate(tok):
    ids = [tok("▁".join(["ra"] * 200))["input_ids"] for _ in range(20)]
    first = mask_tokens(ids, list(range(20)), tok)
    assert first == mask_tokens(ids, list(range(20)), tok)  # same rows, same masks
    labels = [t for row in first["labels"] for t in row]
    chosen = sum(t != -100 for t in labels) / sum(len(r) - 2 for r in ids)
    assert 0.12 < chosen < 0.18
    specials = set(tok.all_special_ids)
    for row, seq in zip(first["labels"], ids):  # specials never masked
        assert all(lab == -100 for lab, t in zip(row, seq) if t in specials)
    masked = sum(i == tok.mask_token_id for row in first["input_ids"] for i in row)
    assert 0.7 < masked / sum(t != -100 for t in labels) < 0.9

