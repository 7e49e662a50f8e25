"""Token classification: a tag on each word's first sub-token, long sentences cut into
windows at word boundaries and stitched back (with the real tiny tokenizer)."""

from __future__ import annotations

import numpy as np
import pytest

from sweeper.tasktypes.base import IGNORE
from sweeper.tasktypes.token_classification import TYPE as TAGGING
from sweeper.tasktypes.token_classification import stitch_tags, tag_windows, word_pieces


def encode_tags(batch, tok, max_length):
    return TAGGING.encode(None, batch, tok, max_length=max_length, doc_stride=0)


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    from sweeper.trial.environment import load_tokenizer

    return load_tokenizer("tiny", catalog, cache_root)


def test_label_sits_on_first_subtoken(tok):
    words = ["bo", "zazuzezizozazuzezizo", "ka"]
    pieces = word_pieces(words, tok)
    assert len(pieces[1]) > 3  # a word that splits into many pieces
    out = encode_tags({"tokens": [words], "tags": [[1, 2, 3]]}, tok, 64)
    labels, pos = out["labels"][0], out["word_pos"][0]
    assert [labels[p] for p in pos] == [1, 2, 3]
    assert sum(x != IGNORE for x in labels) == 3  # other pieces and specials ignored
    ids = out["input_ids"][0]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id


def test_long_sentences_are_windowed_and_stitched_back(tok):
    rng = np.random.default_rng(0)
    words = [["bo", "kazuzeko", "ti", "mamelu"][i % 4] for i in range(300)]
    tags = [int(x) for x in rng.integers(0, 7, size=300)]
    out = encode_tags({"tokens": [words, ["ka"]], "tags": [tags, [4]]}, tok, 32)
    assert len(out["input_ids"]) > 5 and all(len(x) <= 32 for x in out["input_ids"])
    assert sorted(o + k for e, o, p in zip(out["example"], out["word_offset"], out["word_pos"])
                  for k in range(len(p)) if e == 0) == list(range(300))  # each word once
    # a model that predicts every label perfectly gives back the gold tags word for word
    word_tags = [labels[p] for labels, pos in zip(out["labels"], out["word_pos"]) for p in pos]
    rows = {"example": out["example"], "word_offset": out["word_offset"],
            "word_pos": out["word_pos"]}
    assert stitch_tags(rows, word_tags, 2, [300, 1]) == [tags, [4]]


def test_an_overlong_single_word_keeps_its_label(tok):
    windows = tag_windows([[7] * 50, [8]], [3, 4], 10)
    assert [w[2][0] for w in windows] == [3, 4] and len(windows[0][1]) == 8
