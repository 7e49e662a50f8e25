"""The tiny model's tokenizer: a SentencePiece-style Unigram model trained on the
synthetic world's lexicon (every catalog language at its resource tier), trained once per
cache and reused. Its ids are stable across runs (see `stable_vocab`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock

from sweeper.catalog import Catalog
from sweeper.data.sample.world import lexicon

TOKENIZER_VERSION = "5"  # of the tiny model's tokenizer (its vocabulary decides every id)
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's order: ids 0..4


def _train_tiny_tokenizer(catalog: Catalog, out: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer

    words = []
    for code, lang in catalog.languages.items():
        words.extend(lexicon(code, lang.tier))
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=3000, special_tokens=SPECIALS,
                                      unk_token="<unk>", shrinking_factor=0.75,
                                      max_piece_length=8, show_progress=False)
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
    out = Path(cache_root).resolve() / f"tiny-tokenizer-v{TOKENIZER_VERSION}"
    if (out / "tokenizer.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / "tokenizer.json").exists():
            tmp = out.with_name(out.name + f".tmp{os.getpid()}")
            _train_tiny_tokenizer(catalog, tmp)
            os.replace(tmp, out)
    return out
