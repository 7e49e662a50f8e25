"""Encoders: any Hugging Face encoder by hub id or local path, or `tiny`.

`tiny` is an XLM-R-architecture model built from a config (random init) with a
SentencePiece-style Unigram tokenizer trained on the synthetic sample corpus, so the
whole pipeline runs offline on a CPU. Weights are saved and loaded as safetensors.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import torch
from filelock import FileLock
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    PreTrainedTokenizerBase,
    XLMRobertaConfig,
    XLMRobertaModel,
    XLMRobertaTokenizer,
)

from sweeper.catalog import Catalog
from sweeper.digest import digest
from sweeper.errors import ConfigError
from sweeper.hub import hub_commit

TINY = "tiny"
TINY_VERSION = "5"
TINY_SHAPE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=128, max_position_embeddings=514)
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's order: ids 0..4


def _train_tiny_tokenizer(catalog: Catalog, out: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from sweeper.data.sample.world import lexicon

    words = []
    for code, lang in catalog.languages.items():
        words.extend(lexicon(code, lang.tier))
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=3000, special_tokens=SPECIALS, unk_token="<unk>",
                                      shrinking_factor=0.75, max_piece_length=8, show_progress=False)
    before = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # threaded EM sums in varying order
    try:
        tok.train_from_iterator(sorted(set(words)), trainer=trainer)
    finally:
        if before is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = before
    XLMRobertaTokenizer(vocab=stable_vocab(_unigram_vocab(tok))).save_pretrained(str(out))


def _unigram_vocab(tok) -> list[tuple[str, float]]:
    import json

    return [tuple(x) for x in json.loads(tok.to_str())["model"]["vocab"]]


def stable_vocab(vocab: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Specials first, then pieces by rounded score and text: the same ids on every run.

    The trainer's EM sums differ in the last bits between runs, and the characters it
    must keep are appended with made-up descending scores in hash-map order; so scores
    are rounded, and those characters get the same scores in the order of their text.
    """
    specials = [(p, 0.0) for p in SPECIALS]
    pieces = [(p, round(s, 6)) for p, s in vocab if p not in SPECIALS]
    floor = min((s for p, s in pieces if len(p) > 1), default=0.0)
    tail = sorted(p for p, s in pieces if len(p) == 1 and s < floor)
    tail_scores = sorted((s for p, s in pieces if len(p) == 1 and s < floor), reverse=True)
    fixed = dict(zip(tail, tail_scores))
    rest = sorted(((p, fixed.get(p, s)) for p, s in pieces), key=lambda x: (-x[1], x[0]))
    return specials + rest


def tiny_tokenizer_dir(catalog: Catalog, cache_root: str | os.PathLike) -> Path:
    """Folder of the tiny tokenizer, trained once per cache and reused."""
    out = Path(cache_root).resolve() / f"tiny-tokenizer-v{TINY_VERSION}"
    if (out / "tokenizer.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / "tokenizer.json").exists():
            tmp = out.with_name(out.name + f".tmp{os.getpid()}")
            _train_tiny_tokenizer(catalog, tmp)
            os.replace(tmp, out)
    return out


def load_tokenizer(model: str, catalog: Catalog, cache_root: str | os.PathLike
                   ) -> PreTrainedTokenizerBase:
    """The tokenizer of `model` (hub id, local path, or `tiny`)."""
    path = tiny_tokenizer_dir(catalog, cache_root) if model == TINY else model
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:
        raise ConfigError(f"cannot load tokenizer for model '{model}': "
                          f"{str(exc).strip().splitlines()[0][:200]}") from None


def _tiny_config(tokenizer: PreTrainedTokenizerBase, attn: str = "sdpa") -> XLMRobertaConfig:
    return XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
                            attn_implementation=attn, **TINY_SHAPE)


def load_encoder(model: str, tokenizer: PreTrainedTokenizerBase, seed: int,
                 attn: str = "sdpa", saved: Path | None = None) -> torch.nn.Module:
    """A fresh encoder: pretrained weights for a hub id/path, seeded random init for tiny;
    or, with `saved` (a folder `MultiTaskModel.save` wrote), the weights stored there,
    read once instead of the pretrained ones they replace."""
    if saved is not None:
        return _from_pretrained(str(Path(saved) / "encoder"), attn)
    if model == TINY:
        torch.manual_seed(seed)
        return XLMRobertaModel(_tiny_config(tokenizer, attn), add_pooling_layer=False)
    try:
        return _from_pretrained(model, attn)
    except Exception as exc:
        raise ConfigError(f"cannot load model '{model}': "
                          f"{str(exc).strip().splitlines()[0][:200]}") from None


def _from_pretrained(path: str, attn: str) -> torch.nn.Module:
    try:
        return AutoModel.from_pretrained(path, attn_implementation=attn, add_pooling_layer=False)
    except TypeError:  # encoders without a pooling-layer switch
        return AutoModel.from_pretrained(path, attn_implementation=attn)


def model_identity(model: str) -> str:
    """What names the encoder's starting weights: the tiny model's version and shape, a
    local folder's content (file names, sizes and bytes), or a hub id at its commit."""
    if model == TINY:
        return f"tiny:v{TINY_VERSION}:{digest(TINY_SHAPE, 12)}"
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


def num_layers(model: str) -> int:
    """How many transformer layers `model` has (for the retrieval layer default)."""
    if model == TINY:
        return TINY_SHAPE["num_hidden_layers"]
    try:
        return int(AutoConfig.from_pretrained(model).num_hidden_layers)
    except Exception as exc:
        raise ConfigError(f"cannot read config of model '{model}': "
                          f"{str(exc).strip().splitlines()[0][:200]}") from None
