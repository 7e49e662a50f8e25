"""Extractive QA: answers recovered across overlapping windows, the null answer, the best
span (with the real tiny tokenizer)."""

from __future__ import annotations

import numpy as np
import pytest

from sweeper.tasktypes.qa import best_span
from sweeper.tasktypes.qa import encode_windows as encode_qa


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    from sweeper.trial.environment import load_tokenizer

    return load_tokenizer("tiny", catalog, cache_root)


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


def _loop_span(windows, context, allow_null):
    """The plain loop over n-best starts and ends that best_span vectorises."""
    from sweeper.tasktypes.qa import MAX_ANSWER_TOKENS, N_BEST

    best_text, best_score, null_score = "", -np.inf, np.inf
    for logits, offsets in windows:
        start, end = logits[:, 0], logits[:, 1]
        null_score = min(null_score, float(start[0] + end[0]))
        valid = [o[0] >= 0 for o in offsets] + [False] * (len(start) - len(offsets))
        cand_s = [i for i in np.argsort(start)[::-1][:N_BEST] if valid[i]]
        cand_e = [i for i in np.argsort(end)[::-1][:N_BEST] if valid[i]]
        for s in cand_s:
            for e in cand_e:
                if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                if float(start[s] + end[e]) > best_score:
                    best_score = float(start[s] + end[e])
                    best_text = context[offsets[s][0]:offsets[e][1]]
    return "" if allow_null and null_score > best_score else best_text


def test_vectorised_span_search_equals_the_loop():
    rng = np.random.default_rng(0)
    context = " ".join(f"w{i}" for i in range(200))
    for trial in range(50):
        windows = []
        for w in range(int(rng.integers(1, 4))):
            n = int(rng.integers(8, 60))
            offsets = [[-1, -1]] * 3 + [[4 * i, 4 * i + 3] for i in range(n - 4)]
            logits = rng.normal(size=(n, 2)).astype(np.float32)
            windows.append((logits, offsets))
        for allow_null in (False, True):
            assert best_span(windows, context, allow_null) == \
                _loop_span(windows, context, allow_null), trial


@pytest.mark.slow
def test_xquad_selects_on_squad_dev_without_the_articles_it_translates(tmp_path, catalog):
    """XQuAD's paragraphs are SQuAD v1.1 dev paragraphs: the articles holding them leave
    the selection set, so selection never sees a test item."""
    import json

    import pyarrow.parquet as pq

    from sweeper.data.export import export
    from sweeper.data.sources import write_rows
    from sweeper.trial.run import run_trial
    from sweeper.trial.settings import TrialSettings

    data = tmp_path / "data"
    export(catalog, ["xquad", "squad"], out=data, source="sample", languages=["en"],
           splits=["train", "validation", "test"])
    dev = pq.read_table(data / "squad" / "en" / "validation.parquet").to_pylist()
    xquad = pq.read_table(data / "xquad" / "en" / "validation.parquet").to_pylist()
    translated = {r["title"] for r in dev[:10]}  # two articles of five paragraphs
    for row, taken in zip(dev[:10:5], xquad):  # one paragraph of each went into XQuAD
        row["context"] = taken["context"]
    write_rows(dev, data / "squad" / "en" / "validation.parquet")
    settings = TrialSettings.build(targets=["xquad"], model="tiny", eval_languages=["en"],
                                   local_data={"squad": str(data), "xquad": str(data)},
                                   max_train_examples=40, target_epochs=1)
    result = run_trial(settings, tmp_path / "out")
    assert result["training"]["xquad"]["evaluation"]["dev"]["en"]["articles_left_out"] == 2
    labels = json.loads((tmp_path / "out/xtreme/labels/xquad/dev-en.json").read_text())
    ids = {qa["id"] for art in labels["data"] for p in art["paragraphs"] for qa in p["qas"]}
    assert ids == {r["id"] for r in dev if r["title"] not in translated}
    assert "without the articles of xquad" in result["selection"]["xquad"]["source"]
