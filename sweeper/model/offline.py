"""The offline encoders: XLM-R shapes built from a config with random weights on the
sample's tokenizer (`tiny` for tests and demos; `small`, wider and deeper, so a fidelity
ladder can change the encoder without the hub). Pure module: what the settings, the
space and the preflight ask of a model name, without torch."""

from __future__ import annotations

TINY = "tiny"
TINY_VERSION = "5"
TINY_SHAPE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=128, max_position_embeddings=514)
SMALL = "small"
SMALL_VERSION = "1"
SMALL_SHAPE = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=1024, max_position_embeddings=514)  # the benches' small
OFFLINE = {TINY: TINY_SHAPE, SMALL: SMALL_SHAPE}  # random-init encoders on the tiny tokenizer


def is_offline(model: str) -> bool:
    """A random-init encoder built here: no hub, the sample's tokenizer, tiny's lr."""
    return model in OFFLINE
