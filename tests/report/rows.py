"""Small results tables for the report's sections: a trial's rows (English dev, Swahili
dev and test) with the columns the sections read."""

from __future__ import annotations

import pandas as pd


def _rows(trial: str, *, tasks: str, k: int, seed: int = 0, status: str = "finished",
          role: str = "trial", protocol: str = "zero_shot", comparable: bool = True,
          gains=(1.0, 2.0, 3.0), scores=(60.0, 50.0, 40.0), distinct: float | None = 100.0,
          target: str = "xnli") -> list[dict]:
    """A trial's rows: English dev, Swahili dev and Swahili test."""
    cells = [("en", "high", "dev"), ("sw", "low", "dev"), ("sw", "low", "test")]
    return [{"trial_id": trial, "tasks": tasks, "k": k, "seed": seed, "status": status,
             "role": role, "protocol": protocol, "comparable": comparable, "chain": "",
             "target": target, "language": lang, "tier": tier, "split": split,
             "gain": gain, "score": score, "examples_seen": distinct,
             "distinct_examples": distinct, "data_source": "hub", "model": "xlm-roberta-base",
             "retrieval_protocol": "", "budget": "(none)"}
            for (lang, tier, split), gain, score in zip(cells, gains, scores)]


def _table(*trials: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for trial in trials for row in trial])
