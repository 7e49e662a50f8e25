"""Retrieval as XTREME runs it, checked against XTREME's own functions
(tests/reference/xtreme_utils_retrieve.py, run with faiss) on a fixture of a few
thousand sentences: the same BUCC candidates and scores, the same dev threshold, the same
pairs; Tatoeba's English queries over the whole non-English index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from reference import xtreme_utils_retrieve as xtreme  # noqa: E402  (needs faiss-cpu)

from sweeper.tasktypes import _mining as mining
from sweeper.tasktypes.retrieval import distinct
from sweeper.trial.resolve import default_retrieval_layer


def _side(rng, vectors: np.ndarray, lang: str, repeats: int, offset: int):
    """Sentences (some repeated with another id and the same text), ids, embeddings."""
    texts = [f"{lang} sentence {i}" for i in range(len(vectors))]
    rows = list(range(len(vectors)))
    for r in rng.choice(len(vectors), size=repeats, replace=False):
        rows.append(int(r))  # the same sentence again, under another id
    rng.shuffle(rows)
    ids = [f"{lang}-{offset + k:06d}" for k in range(len(rows))]
    return [texts[r] for r in rows], ids, vectors[rows].astype(np.float32), rows


def _fixture(tmp: Path, seed: int, n_pairs: int = 1200, n_extra: int = 900):
    """A BUCC-like split: planted translations among sentences without one, repeats on
    both sides, written as XTREME's files (text, ids, gold)."""
    rng = np.random.default_rng(seed)
    dim = 48
    common = rng.normal(size=(n_pairs, dim))
    src_vec = np.concatenate([common + 0.35 * rng.normal(size=(n_pairs, dim)),
                              rng.normal(size=(n_extra, dim))])
    tgt_vec = np.concatenate([common + 0.35 * rng.normal(size=(n_pairs, dim)),
                              rng.normal(size=(n_extra, dim))])
    src = _side(rng, src_vec, "de", 40, 0)
    tgt = _side(rng, tgt_vec, "en", 40, 500000)
    first = {}
    for side, (texts, ids, _, rows) in (("src", src), ("tgt", tgt)):
        first[side] = {}
        for pos, r in enumerate(rows):
            first[side].setdefault(r, ids[pos])
    gold = {(first["src"][r], first["tgt"][r]) for r in range(n_pairs)}
    for name, (texts, ids, _, _) in (("de", src), ("en", tgt)):
        (tmp / f"{name}.txt").write_text("".join(t + "\n" for t in texts))
        (tmp / f"{name}.id").write_text("".join(i + "\n" for i in ids))
    (tmp / "gold").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(gold)))
    return src, tgt, gold


def _ours(src, tgt, gold, threshold=None):
    vectors = []
    for texts, _, vec, _ in (src, tgt):
        keep = distinct(texts)
        v = torch.nn.functional.normalize(torch.from_numpy(vec[keep]), dim=-1)
        vectors.append((v, [texts[p] for p in keep]))
    candidates = mining.mine(vectors[0][0], vectors[1][0])
    scores = mining.candidate_scores(candidates, vectors[0][1], vectors[1][1],
                                     mining.sent2id(src[0], src[1]),
                                     mining.sent2id(tgt[0], tgt[1]))
    threshold = mining.best_threshold(scores, gold) if threshold is None else threshold
    return scores, threshold, set(mining.extract(scores, threshold))


def _theirs(tmp: Path, src, tgt, threshold=None):
    x, y = src[2].copy(), tgt[2].copy()
    xtreme.mine_bitext(x, y, str(tmp / "de.txt"), str(tmp / "en.txt"), str(tmp / "cand.tsv"))
    scores = xtreme.read_candidate2score(str(tmp / "cand.tsv"), str(tmp / "de.txt"),
                                         str(tmp / "en.txt"), str(tmp / "de.id"),
                                         str(tmp / "en.id"))
    if threshold is None:
        gold = {line.strip() for line in open(tmp / "gold")}
        threshold = xtreme.bucc_optimize(scores, gold)
    pairs = {tuple(p.split("\t")) for p in xtreme.bucc_extract(scores, threshold, None)}
    return scores, threshold, pairs


def test_bucc_mining_equals_xtreme_s_own_functions(tmp_path):
    dev, test = tmp_path / "dev", tmp_path / "test"
    dev.mkdir(), test.mkdir()
    src, tgt, gold = _fixture(dev, seed=0)
    ours, threshold, pairs = _ours(src, tgt, gold)
    theirs, their_threshold, their_pairs = _theirs(dev, src, tgt)
    assert set(ours) == set(theirs)  # the same candidates, repeated sentences dropped
    assert all(ours[p] == pytest.approx(theirs[p], abs=1e-5) for p in ours)
    assert threshold == pytest.approx(their_threshold, abs=1e-5)
    assert pairs == their_pairs and len(pairs & gold) > 0.8 * len(gold)
    repeated = {t for t in src[0] if src[0].count(t) > 1}
    assert repeated and not {a for a, _ in ours} & {src[1][k] for k, t in enumerate(src[0])
                                                     if t in repeated}
    # the dev threshold, applied unchanged to another split
    src2, tgt2, gold2 = _fixture(test, seed=1)
    assert _ours(src2, tgt2, gold2, threshold)[2] == _theirs(test, src2, tgt2, threshold)[2]


def test_threshold_is_the_midpoint_after_the_best_f1_by_hand():
    scores = {("a", "1"): 0.9, ("b", "2"): 0.8, ("c", "9"): 0.7, ("d", "8"): 0.6}
    threshold = mining.best_threshold(scores, {("a", "1"), ("b", "2")})
    assert threshold == pytest.approx(0.75)
    assert sorted(mining.extract({("a", "1"): 0.76, ("b", "2"): 0.74, ("c", "3"): 0.9},
                                 threshold)) == [("a", "1"), ("c", "3")]
    # the best F1 at the last candidate: its own score (XTREME would index past the end)
    assert mining.best_threshold({("a", "1"): 0.9}, {("a", "1")}) == pytest.approx(0.9)


def test_tatoeba_queries_every_english_sentence_over_the_non_english_index(tmp_path):
    src = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, 0.6]])  # non-English: the index
    tgt = torch.tensor([[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]])  # English: the queries
    assert mining.nearest(src, tgt) == [1, 1, 0]  # a repeated row stays (no de-duplication)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    y = (x + 0.8 * rng.normal(size=x.shape)).astype(np.float32)
    theirs = xtreme.similarity_search(x.copy(), y.copy(), 16, normalize=True)[:, 0].tolist()
    ours = mining.nearest(torch.nn.functional.normalize(torch.from_numpy(x), dim=-1),
                          torch.nn.functional.normalize(torch.from_numpy(y), dim=-1))
    assert ours == theirs


def test_default_layer_is_14_of_24():
    assert [default_retrieval_layer(n) for n in (24, 12, 2)] == [14, 7, 1]


def test_retrieval_runs_only_the_layers_it_pools(catalog, cache_root):
    """Truncating the stack gives exactly the hidden states of the full run's layer."""
    from sweeper.model.encoders import load_encoder
    from sweeper.tasktypes.retrieval import layers_up_to
    from sweeper.trial.environment import load_tokenizer

    tok = load_tokenizer("tiny", catalog, cache_root)
    encoder = load_encoder("tiny", tok, seed=0).eval()
    ids = torch.tensor([tok("▁ra ha pe")["input_ids"]])
    with torch.inference_mode():
        full = encoder(input_ids=ids, output_hidden_states=True).hidden_states[1]
        with layers_up_to(encoder, 1) as truncated:
            part = encoder(input_ids=ids).last_hidden_state
    assert truncated and torch.equal(full, part)
    assert len(encoder.encoder.layer) == 2  # restored
