"""Simulated results tables with a known truth, in the columns of sweeper.report.results.

gain(set, language) = seed offset + slope * log(1 + k) + data * log(distinct examples)
                      + sum of the set's task effects + language offset + noise.
Designs: independent random subsets per count whose tasks hold any number of examples
(`subsets`), or exactly 500 each (`fixed_per_task`: data grows in step with the count),
or that share 8,000 (`fixed_total`); `arms`: the last two together; `chains`: random
orders of the pool, trial k trains the first k.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LANGUAGES = {"en": "high", "de": "high", "hi": "mid", "sw": "low", "ur": "low"}
POOL = [f"t{i}" for i in range(12)]


def _sets(rng, design: str, counts, draws: int, chains: int, length: int):
    if design == "chains":
        for c in range(chains):
            order = list(rng.permutation(POOL))[:length]
            for k in range(1, length + 1):
                yield order[:k], str(c), order[k - 1], "(epochs=2, examples_cap=500)"
        return
    arms = {"arms": ["fixed_total", "fixed_per_task"]}.get(design, [design])
    for k in counts:
        for d in range(draws):
            tasks = list(rng.choice(POOL, size=k, replace=False))
            for arm in arms:
                yield tasks, "", "", arm


def _distinct(rng, k: int, arm: str) -> float:
    if arm == "fixed_total":
        return 8000.0 - rng.integers(0, 200)  # a small task now and then holds a little less
    if arm == "fixed_per_task":
        return 500.0 * k
    return float(sum(rng.integers(200, 2000) for _ in range(k)))  # tasks of any size


def simulate(seed: int = 0, *, design: str = "subsets", slope: float = 0.0,
             data: float = 0.0, effects: dict[str, float] | None = None,
             seeds: int = 3, counts=(1, 2, 4, 8), draws: int = 3, chains: int = 8,
             length: int = 4, noise: float = 1.0, passes: float = 2.0, curve=None,
             seed_sd: float = 1.0, target: str = "xnli", status_of=None) -> pd.DataFrame:
    """A results table (dev and test rows) of one simulated sweep."""
    rng = np.random.default_rng(seed)
    effects = effects or {}
    offsets = rng.normal(0, 1, size=len(LANGUAGES))
    lang_offset = dict(zip(LANGUAGES, offsets - offsets.mean()))  # no effect on the mean
    rows, n = [], 0
    for s in range(seeds):
        seed_offset = rng.normal(0, seed_sd)  # the seed's baseline run: every gain shares it
        base = {lang: 50 + rng.normal(0, 3) for lang in LANGUAGES}
        set_noise: dict[tuple, float] = {}
        for tasks, chain, added, arm in _sets(rng, design, counts, draws, chains, length):
            k = len(tasks)
            distinct = _distinct(rng, k, arm)
            key = tuple(sorted(tasks))
            set_noise.setdefault(key, rng.normal(0, noise))  # a set's own luck, per seed
            shape = curve(k) if curve else slope * math.log1p(k)
            truth = (seed_offset + shape + data * math.log(distinct)
                     + sum(effects.get(t, 0.0) for t in tasks) + set_noise[key])
            n += 1
            status = status_of(k, n) if status_of else "finished"
            mix = "non_english"
            for split in ("dev", "test"):
                for lang, tier in LANGUAGES.items():
                    gain = truth + lang_offset[lang] + rng.normal(0, noise / 2)
                    finished = status == "finished"
                    rows.append({
                        "sweep_id": "sim", "trial_id": f"s{s}-{n}", "seed": s,
                        "tasks": ",".join(tasks), "k": k, "mix": mix, "target": target,
                        "language": lang, "tier": tier, "split": split,
                        "score": base[lang] + gain if finished else None,
                        "baseline_score": base[lang] if finished else None,
                        "gain": gain if finished else None,
                        "examples_seen": passes * distinct, "distinct_examples": distinct,
                        "max_passes": passes, "budget": arm, "protocol": "zero_shot",
                        "status": status, "chain": chain, "added": added})
    return pd.DataFrame(rows)
