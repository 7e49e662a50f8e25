"""Retrieval without training: margin-based BUCC mining and the layer default."""

from __future__ import annotations

import torch

from sweeper.trial.keys import retrieval_layer
from sweeper.trial.settings import TrialSettings
from sweeper.trial.stages.retrieval import mine


def test_mining_recovers_parallel_pairs():
    g = torch.Generator().manual_seed(0)
    tgt = torch.nn.functional.normalize(torch.randn(40, 16, generator=g), dim=-1)
    src = torch.nn.functional.normalize(tgt + 0.1 * torch.randn(40, 16, generator=g), dim=-1)
    pairs = mine(src, tgt, {(i, i) for i in range(40)})
    assert set(pairs) == {(i, i) for i in range(40)}


def test_threshold_drops_pairs_that_hurt_f1():
    g = torch.Generator().manual_seed(1)
    tgt = torch.nn.functional.normalize(torch.randn(30, 64, generator=g), dim=-1)
    noise = torch.randn(30, 64, generator=g)
    src = torch.nn.functional.normalize(torch.cat([tgt[:20] + 0.05 * noise[:20], noise[20:]]), -1)
    gold = {(i, i) for i in range(20)}  # the last ten source sentences have no translation
    pairs = set(mine(src, tgt, gold))
    assert gold <= pairs and len(pairs - gold) <= 2


def test_default_layer_is_14_of_24():
    default = TrialSettings()
    assert [retrieval_layer(default, n) for n in (24, 12, 2)] == [14, 7, 1]
    assert retrieval_layer(default.replace(retrieval_layer=3), 24) == 3
