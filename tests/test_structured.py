"""Tagging alignment and QA span recovery with the real tiny tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from sweeper.tasktypes.base import IGNORE
from sweeper.tasktypes.qa import best_span
from sweeper.tasktypes.qa import encode_windows as encode_qa
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
    assert out["input_ids"][0][0] == tok.cls_token_id and out["input_ids"][0][-1] == tok.sep_token_id


def test_long_sentences_are_windowed_and_stitched_back(tok):
    rng = np.random.default_rng(0)
    words = [["bo", "kazuzeko", "ti", "mamelu"][i % 4] for i in range(300)]
    tags = [int(x) for x in rng.integers(0, 7, size=300)]
    out = encode_tags({"tokens": [words, ["ka"]], "tags": [tags, [4]]}, tok, 32)
    assert len(out["input_ids"]) > 5 and all(len(x) <= 32 for x in out["input_ids"])
    assert sorted(o + k for e, o, p in zip(out["example"], out["word_offset"], out["word_pos"])
                  for k in range(len(p)) if e == 0) == list(range(300))  # each word once
    # a model that predicts every label perfectly gives back the gold tags word for word
    outputs = [np.array([max(x, 0) for x in labels]) for labels in out["labels"]]
    rows = {"example": out["example"], "word_offset": out["word_offset"],
            "word_pos": out["word_pos"]}
    assert stitch_tags(rows, outputs, 2, [300, 1]) == [tags, [4]]


def test_an_overlong_single_word_keeps_its_label(tok):
    windows = tag_windows([[7] * 50, [8]], [3, 4], 10)
    assert [w[2][0] for w in windows] == [3, 4] and len(windows[0][1]) == 8


def _qa_batch(context: str, answer: str | None) -> dict:
    answers = ({"text": [answer], "answer_start": [context.index(answer)]} if answer
               else {"text": [], "answer_start": []})
    return {"id": ["q1"], "question": ["cobi pazara ?"], "context": [context], "answers": [answers]}


def test_qa_answer_recovered_across_windows(tok):
    context = " ".join(["hutati wuse zoka"] * 30) + " pazara lomukefa tisape ."
    out = encode_qa(_qa_batch(context, "lomukefa tisape"), tok, max_length=48, stride=16)
    assert len(out["input_ids"]) > 3
    hits = [i for i, s in enumerate(out["start_positions"]) if s]
    assert hits and hits[-1] == len(out["input_ids"]) - 1  # the answer is in the last window
    w = hits[-1]
    offs = out["offsets"][w]
    s, e = out["start_positions"][w], out["end_positions"][w]
    assert context[offs[s][0]:offs[e][1]] == "lomukefa tisape"
    # logits peaking at the answer in its window, noise elsewhere -> the exact text
    windows = []
    for i, ids in enumerate(out["input_ids"]):
        logits = np.random.default_rng(i).normal(0, 0.1, size=(len(ids), 2))
        if i == w:
            logits[s, 0] += 5
            logits[e, 1] += 5
        windows.append((logits, out["offsets"][i]))
    assert best_span(windows, context, allow_null=False) == "lomukefa tisape"


def test_unanswerable_questions_point_at_cls_and_can_predict_null(tok):
    context = "hutati wuse zoka pazara ."
    out = encode_qa(_qa_batch(context, None), tok, max_length=64, stride=16)
    assert out["start_positions"] == [0] and out["end_positions"] == [0]
    logits = np.zeros((len(out["input_ids"][0]), 2))
    logits[0] = 3.0  # the null score beats every span
    window = [(logits, out["offsets"][0])]
    assert best_span(window, context, allow_null=True) == ""
    assert best_span(window, context, allow_null=False) != ""
