"""Seeding a stage: every global generator set from the trial seed and the stage's name,
so a stage's numbers do not depend on how the stages before it were obtained."""

from __future__ import annotations

import random

import numpy as np
import torch

from sweeper.digest import stage_seed


def seed_stage(seed: int, *stage: str) -> None:
    """Seed every global generator (Python, numpy, torch: head init, dropout) from the
    trial seed and the stage, so a stage gives the same numbers whether the stages before
    it were trained, served from the cache or resumed."""
    value = stage_seed(seed, *stage)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)
