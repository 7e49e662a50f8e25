"""Encoders: any Hugging Face encoder by hub id or local path, or `tiny` / `small`.

`tiny` is an XLM-R-architecture model built from a config (random init); its
SentencePiece-style Unigram tokenizer is trained on the synthetic sample's lexicon
(sweeper.data.sample.tokenizer), so the whole pipeline runs offline on a CPU. `small`
is the same with a wider and deeper shape and the same tokenizer: a fidelity ladder
can change the encoder (tiny -> small) without the hub. Weights are saved and loaded
as safetensors.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import torch
from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerBase, XLMRobertaConfig

from sweeper.digest import digest
from sweeper.errors import ConfigError, one_line
from sweeper.hub import hub_commit
from sweeper.model.offline import (  # noqa: F401 (importers read the shapes here too)
    OFFLINE,
    SMALL,
    SMALL_SHAPE,
    SMALL_VERSION,
    TINY,
    TINY_SHAPE,
    TINY_VERSION,
)


def load_tokenizer(model: str, tiny_dir: Path | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer of `model` (hub id or local path); for `tiny`, the one trained on the
    synthetic sample's lexicon, in `tiny_dir` (sweeper.data.sample.tokenizer); `small`
    shares it."""
    if model in OFFLINE and tiny_dir is None:
        raise ValueError("the tiny model's tokenizer folder is needed")
    path = tiny_dir if model in OFFLINE else model
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:
        raise ConfigError(f"cannot load tokenizer for model '{model}': {one_line(exc, 200)}") \
            from None


def _tiny_config(tokenizer: PreTrainedTokenizerBase, attn: str = "sdpa",
                 model: str = TINY) -> XLMRobertaConfig:
    return XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
                            attn_implementation=attn, **OFFLINE[model])


def load_encoder(model: str, tokenizer: PreTrainedTokenizerBase, seed: int,
                 attn: str = "sdpa", saved: Path | None = None) -> torch.nn.Module:
    """A fresh encoder: pretrained weights for a hub id/path, seeded random init for tiny;
    or, with `saved` (a folder `MultiTaskModel.save` wrote), the weights stored there,
    read once instead of the pretrained ones they replace."""
    if saved is not None:
        return _from_pretrained(str(Path(saved) / "encoder"), attn)
    if model in OFFLINE:
        from transformers import XLMRobertaModel  # (the modeling code: here, where it is used)

        torch.manual_seed(seed)
        return XLMRobertaModel(_tiny_config(tokenizer, attn, model), add_pooling_layer=False)
    try:
        return _from_pretrained(model, attn)
    except Exception as exc:
        raise ConfigError(f"cannot load model '{model}': {one_line(exc, 200)}") from None


def _from_pretrained(path: str, attn: str) -> torch.nn.Module:
    """Weights in fp32 whatever the checkpoint holds (transformers 5 would keep a bf16
    checkpoint's dtype, where lr 1e-5 updates round away): bf16 comes from autocast only."""
    from transformers import AutoModel

    kw = dict(attn_implementation=attn, dtype=torch.float32)
    try:
        return AutoModel.from_pretrained(path, add_pooling_layer=False, **kw)
    except TypeError:  # encoders without a pooling-layer switch
        return AutoModel.from_pretrained(path, **kw)


def model_identity(model: str) -> str:
    """What names the encoder's starting weights: the tiny model's version and shape, a
    local folder's content (file names, sizes and bytes), or a hub id at its commit."""
    if model == TINY:
        return f"tiny:v{TINY_VERSION}:{digest(TINY_SHAPE, 12)}"
    if model == SMALL:
        return f"small:v{SMALL_VERSION}:{digest(SMALL_SHAPE, 12)}"
    path = Path(model)
    if path.is_dir():
        files = sorted(p for p in path.resolve().rglob("*") if p.is_file())
        stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
        return f"path:{_folder_digest(path.resolve(), stamp)}"
    return f"hub:{model}@{hub_commit(model, repo_type='model')}"


@functools.lru_cache(maxsize=16)
def _folder_digest(path: Path, stamp: tuple) -> str:
    """Hash of every file's relative name, size and bytes (read once per `stamp`)."""
    h = hashlib.sha256()
    for name, size, _ in stamp:
        f = Path(name)
        h.update(f"{f.relative_to(path)}\0{size}\0".encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()[:20]


def shape(model: str) -> tuple[int, int]:
    """(transformer layers, longest input in tokens) of `model`: the retrieval layer's
    default and every task's max length depend on them. XLM-R's positions start after
    the padding index, so it takes two fewer tokens than it has positions."""
    if model in OFFLINE:
        return OFFLINE[model]["num_hidden_layers"], OFFLINE[model]["max_position_embeddings"] - 2
    try:
        config = AutoConfig.from_pretrained(model)
    except Exception as exc:
        raise ConfigError(f"cannot read config of model '{model}': {one_line(exc, 200)}") \
            from None
    offset = 2 if config.model_type in ("roberta", "xlm-roberta", "camembert") else 0
    return int(config.num_hidden_layers), int(config.max_position_embeddings) - offset


@functools.lru_cache(maxsize=4)
def pretrained_lm_head(model: str) -> dict[str, torch.Tensor] | None:
    """The masked-LM head weights of `model`'s checkpoint (dense, layer norm and bias; the
    decoder is the input embeddings), as X-STILTs continued MLM with XLM-R's own head
    (jiant's from_transformers_with_mlm); None for `tiny` or a checkpoint without one."""
    if not model or model in OFFLINE:
        return None
    from transformers import AutoModelForMaskedLM

    try:
        full, info = AutoModelForMaskedLM.from_pretrained(model, dtype=torch.float32,
                                                          output_loading_info=True)
    except Exception:  # not a masked-LM architecture, or no checkpoint to read
        return None
    head = getattr(full, "lm_head", None)
    if head is None or any(k.startswith("lm_head") for k in info.get("missing_keys", [])):
        return None
    return {k: v.detach().clone() for k, v in head.state_dict().items()
            if k.startswith(("dense.", "layer_norm.")) or k == "bias"}
