"""XTREME metrics against hand-worked examples (and seqeval as a reference)."""

from __future__ import annotations

import random

import pytest

from sweeper.scoring import metrics


def test_accuracy():
    assert metrics.accuracy(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == {"accuracy": 75.0}


def test_seqeval_f1_hand_worked():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"]]
    assert metrics.get_entities(gold) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert metrics.seqeval_f1(gold, pred) == {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    # an I- without a B- still opens a chunk; sentences do not merge across boundaries
    assert metrics.get_entities([["I-LOC"], ["I-LOC"]]) == [("LOC", 0, 0), ("LOC", 2, 2)]
    # POS tags: consecutive equal tags form one chunk, as seqeval (XTREME's udpos F1) does
    assert metrics.get_entities([["NOUN", "NOUN", "VERB"]]) == [("OUN", 0, 1), ("ERB", 2, 2)]


@pytest.mark.parametrize("tagset", [["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
                                    ["NOUN", "VERB", "ADJ", "PROPN", "PRON", "CCONJ", "SCONJ",
                                     "PUNCT", "X", "DET", "INTJ"]])
def test_seqeval_matches_the_reference_library(tagset):
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = random.Random(0)
    for _ in range(30):
        gold = [[rng.choice(tagset) for _ in range(rng.randint(1, 12))] for _ in range(5)]
        pred = [[t if rng.random() < 0.7 else rng.choice(tagset) for t in s] for s in gold]
        ours = metrics.seqeval_f1(gold, pred)
        assert ours["f1"] == pytest.approx(100 * seqeval.f1_score(gold, pred))
        assert ours["precision"] == pytest.approx(100 * seqeval.precision_score(gold, pred))
        assert ours["recall"] == pytest.approx(100 * seqeval.recall_score(gold, pred))


def _squad(answers: dict[str, list[str]]) -> list[dict]:
    return [{"paragraphs": [{"context": "", "qas": [
        {"id": qid, "answers": [{"text": t, "answer_start": 0} for t in texts]}
        for qid, texts in answers.items()]}]}]


def test_squad_em_f1_hand_worked():
    data = _squad({"q1": ["Eiffel Tower"], "q2": ["Paris"], "q3": ["x"]})
    preds = {"q1": "the Eiffel Tower!", "q2": "Paris France"}  # q3 unanswered: scores 0
    out = metrics.qa_em_f1(data, preds)
    assert out["exact_match"] == pytest.approx(100 / 3)
    assert out["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    # best over several gold answers
    assert metrics.qa_em_f1(_squad({"q": ["a cat", "dog"]}), {"q": "Dog."})["exact_match"] == 100


def test_mlqa_normalisation_is_language_aware():
    assert metrics.mlqa_normalize("Der Hund!", "de") == "hund"
    assert metrics.mlqa_normalize("Der Hund!", "en") == "der hund"
    assert metrics.mlqa_normalize("北京大学。", "zh") == "北 京 大 学"
    assert metrics.mlqa_normalize("el perro", "es") == "perro"
    out = metrics.qa_em_f1(_squad({"q": ["北京大学"]}), {"q": "北京"}, "zh", metrics.mlqa_normalize)
    assert out["f1"] == pytest.approx(100 * 2 * (1 * 0.5) / 1.5)
    with pytest.raises(ValueError):
        metrics.mlqa_normalize("x", "sw")


def test_bucc_f1():
    gold = ["de-000001\ten-000001", "de-000002\ten-000002"]
    pred = ["de-000001\ten-000001", "de-000003\ten-000004", "de-000002\ten-000009"]
    out = metrics.bucc_f1(gold, pred)
    assert out["precision"] == pytest.approx(100 / 3) and out["recall"] == 50
    assert out["f1"] == pytest.approx(40.0)
    assert metrics.bucc_f1(gold, [])["f1"] == 0
