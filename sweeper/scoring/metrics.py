"""Pure XTREME metrics, as the official scorer computes them (all in percent).

accuracy (xnli, pawsx, tatoeba); seqeval's entity F1 (udpos, panx); SQuAD v1.1 EM/F1
(xquad, tydiqa); MLQA's language-aware EM/F1 (mlqa); BUCC pair F1 (bucc2018).
No torch, ray or mlflow here.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from typing import Callable, Sequence


def accuracy(labels: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    correct = sum(int(p == g) for p, g in zip(predictions, labels))
    return {"accuracy": 100.0 * correct / len(predictions)}


# --- seqeval (default mode, IOB2 scheme-free), as XTREME uses it -----------------------

def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag not in ("O", ".") and prev_type != type_))


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != type_))


def get_entities(seqs: Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """Chunks (type, start, end) over sentences joined with an 'O' after each.

    Follows seqeval: a tag's first character is its chunk tag and the rest after the
    first '-' its type, so POS tags such as NOUN become chunk tag 'N', type 'OUN'.
    """
    flat = [t for seq in seqs for t in list(seq) + ["O"]]
    prev_tag, prev_type, begin = "O", "", 0
    chunks = []
    for i, chunk in enumerate(flat + ["O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def seqeval_f1(labels: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]
               ) -> dict[str, float]:
    """Micro F1 / precision / recall over chunks, as seqeval's default functions."""
    gold, pred = set(get_entities(labels)), set(get_entities(predictions))
    correct = len(gold & pred)
    precision = correct / len(pred) if pred else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": 100 * f1, "precision": 100 * precision, "recall": 100 * recall}


# --- SQuAD v1.1 and MLQA ---------------------------------------------------------------

def squad_normalize(s: str, lang: str | None = None) -> str:
    """SQuAD v1.1: lower, drop punctuation and English articles, squash whitespace."""
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


@functools.lru_cache(maxsize=1)
def mlqa_punct() -> frozenset[str]:
    """Every Unicode punctuation character plus ASCII punctuation (MLQA's PUNCT)."""
    return frozenset({chr(i) for i in range(sys.maxunicode)
                      if unicodedata.category(chr(i)).startswith("P")} | set(string.punctuation))
MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": "\\sال^|ال",
}
MLQA_LANGS = ("en", "es", "hi", "vi", "de", "ar", "zh")


def _mixed_segmentation(text: str) -> list[str]:
    out, temp = [], ""
    for ch in text:
        if re.search(r"[\u4e00-\u9fa5]", ch) or ch in mlqa_punct():
            if temp:
                out.extend(temp.split())
                temp = ""
            out.append(ch)
        else:
            temp += ch
    if temp:
        out.extend(temp.split())
    return out


def mlqa_normalize(s: str, lang: str | None) -> str:
    """MLQA's evaluation script: language-aware punctuation, articles and segmentation."""
    if lang not in MLQA_LANGS:
        raise ValueError(f"MLQA normalisation has no language '{lang}'")
    punct = mlqa_punct()
    s = "".join(ch for ch in s.lower() if ch not in punct)
    if lang in MLQA_ARTICLES:
        s = re.sub(MLQA_ARTICLES[lang], " ", s)
    tokens = _mixed_segmentation(s) if lang == "zh" else s.split()
    return " ".join(t for t in tokens if t.strip())


Normalizer = Callable[[str, "str | None"], str]


def _f1(pred: str, gold: str, norm: Normalizer, lang: str | None) -> float:
    p, g = norm(pred, lang).split(), norm(gold, lang).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def qa_em_f1(dataset: list[dict], predictions: dict[str, str], lang: str | None = None,
             norm: Normalizer = squad_normalize) -> dict[str, float]:
    """EM and F1 over a SQuAD-format `data` list; unanswered questions score 0."""
    em = f1 = total = 0.0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                golds = [a["text"] for a in qa["answers"]]
                pred = predictions[qa["id"]]
                em += max(float(norm(pred, lang) == norm(g, lang)) for g in golds)
                f1 += max(_f1(pred, g, norm, lang) for g in golds)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


def bucc_f1(labels: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    """F1 of predicted vs gold sentence-id pairs ('xx-000001<TAB>en-000002' lines)."""
    gold = {tuple(x.split("\t")) for x in labels}
    pred = {tuple(x.split("\t")) for x in predictions}
    correct = len(gold & pred)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision, recall = correct / len(pred), correct / len(gold)
    return {"f1": 100 * 2 * precision * recall / (precision + recall),
            "precision": 100 * precision, "recall": 100 * recall}
