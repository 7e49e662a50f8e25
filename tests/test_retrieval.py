"""Retrieval as XTREME runs it: margin mining, the BUCC threshold chosen on dev and
applied to test, Tatoeba's English queries over a de-duplicated non-English index."""

from __future__ import annotations

import pytest
import torch

from sweeper.tasktypes._mining import (
    best_threshold,
    extract,
    first_occurrences,
    mine,
    nearest,
)
from sweeper.trial.resolved import default_retrieval_layer


def test_mining_recovers_parallel_pairs():
    g = torch.Generator().manual_seed(0)
    tgt = torch.nn.functional.normalize(torch.randn(40, 16, generator=g), dim=-1)
    src = torch.nn.functional.normalize(tgt + 0.1 * torch.randn(40, 16, generator=g), dim=-1)
    candidates = mine(src, tgt)
    assert {(i, j) for _, i, j in candidates} == {(i, i) for i in range(40)}
    assert [c[0] for c in candidates] == sorted((c[0] for c in candidates), reverse=True)


def test_threshold_is_chosen_on_dev_gold_by_hand():
    # best F1 after the first two candidates (P = R = 1): midway to the third score
    dev = [(0.9, 0, 0), (0.8, 1, 1), (0.7, 2, 5), (0.6, 3, 4)]
    threshold = best_threshold(dev, {(0, 0), (1, 1)})
    assert threshold == pytest.approx(0.75)
    # applied unchanged to test: its own gold never moves it
    test = [(0.76, 0, 0), (0.74, 1, 1), (0.9, 2, 2)]
    assert extract(test, threshold) == [(0, 0), (2, 2)]


def test_threshold_drops_pairs_that_hurt_f1():
    g = torch.Generator().manual_seed(1)
    tgt = torch.nn.functional.normalize(torch.randn(30, 64, generator=g), dim=-1)
    noise = torch.randn(30, 64, generator=g)
    src = torch.nn.functional.normalize(torch.cat([tgt[:20] + 0.05 * noise[:20], noise[20:]]), -1)
    gold = {(i, i) for i in range(20)}  # the last ten source sentences have no translation
    candidates = mine(src, tgt)
    pairs = set(extract(candidates, best_threshold(candidates, gold)))
    assert gold <= pairs and len(pairs - gold) <= 2


def test_tatoeba_queries_with_english_over_the_non_english_index():
    src = torch.tensor([[1.0, 0.0], [0.8, 0.6]])  # non-English: the index
    tgt = torch.tensor([[0.6, 0.8], [0.0, 1.0]])  # English: the queries
    assert nearest(src, tgt) == [1, 1]  # by hand: cos(t0, s1) = 0.96 > 0.6; cos(t1, s1) = 0.6
    assert nearest(tgt, src) == [0, 0]  # the other direction answers differently


def test_tatoeba_drops_repeated_sentences_first():
    src = [[1], [2], [1], [3]]
    tgt = [[5], [6], [7], [6]]
    assert first_occurrences(src, tgt) == [0, 1]  # row 2 repeats a source, row 3 a target


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
