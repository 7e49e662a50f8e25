"""What the loop's tests share: the tiny encoder without dropout (so that two ways of
computing one step can be compared number for number) and a task's sample features."""

from __future__ import annotations

import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

from sweeper.data.features import load_features
from sweeper.data.sources import make_source
from sweeper.model.encoders import TINY_SHAPE
from sweeper.model.heads import MultiTaskModel


def features(catalog, cache_root, tok, task: str):
    """(catalog entry, English training features at 64 tokens) of `task`."""
    spec = catalog.task(task)
    return spec, load_features(spec, "en", "train", source=make_source("sample", catalog,
                                                                        cache_root),
                               tokenizer=tok, max_length=64, cache_root=cache_root)


def no_dropout(model: MultiTaskModel) -> MultiTaskModel:
    """Dropout off everywhere, heads added later included."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def tiny_without_dropout(tok, heads: dict[str, object]) -> MultiTaskModel:
    """The tiny encoder, seeded, no dropout, with the given heads (name -> task type, 3
    classes unless the type says otherwise)."""
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                              type_vocab_size=1, hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0, attn_implementation="sdpa",
                              **TINY_SHAPE)
    model = MultiTaskModel(XLMRobertaModel(config, add_pooling_layer=False))
    for name, (tasktype, outputs) in heads.items():
        model.add_head(name, tasktype.head(model.encoder, outputs))
    return no_dropout(model)
