"""The cheap signals a ranking combines, each a number per candidate task (no training).

- language: how close the task's language(s) are to the target languages. Two parts,
  after LangRank (Lin et al. 2019): URIEL similarity (1 - the mean of the syntactic,
  genetic and geographic distances, sweeper.rank.uriel; the nearest task language per
  target language) and subword overlap (the Jaccard index of the token types in a
  sample of the task's text and of the target languages' text).
- type: the task-type and format match with the target (same type 1, same format family
  0.5, running text (masked LM) 0.25, else 0); the family is the type's own
  (sweeper.tasktypes).
- embedding: TextEmb (Vu et al. 2020): the frozen encoder's mean-pooled last layer over
  a sample of each dataset's text, averaged into one vector; the cosine similarity of
  the task's to the target's English training data and to the target-language text,
  averaged. Vectors are cached by the key of what they were computed from.

Only input text is read (never a label), and only training or development splits of the
target languages, never a test split.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from sweeper import tasktypes
from sweeper.atomic import write_bytes
from sweeper.digest import digest

SAMPLE = 64  # examples per dataset sample
MAX_LENGTH = 64  # tokens per example for the embeddings


def type_match(task_type: str, target_type: str) -> float:
    """The type signal of a task of `task_type` for a target of `target_type`."""
    if task_type == target_type:
        return 1.0
    task, target = tasktypes.get(task_type), tasktypes.get(target_type)
    if task.running_text:
        return 0.25
    return 0.5 if task.family == target.family else 0.0


def first_sequences(ids: list[Any]) -> list[list[int]]:
    """Token lists (a multiple-choice example: its first choice)."""
    return [x[0] if x and isinstance(x[0], list) else x for x in ids]


def overlap(a: list[list[int]], b: list[list[int]], special: set[int]) -> float:
    """Jaccard index of the token types of two samples (special tokens left out)."""
    ta = {t for seq in a for t in seq} - special
    tb = {t for seq in b for t in seq} - special
    return len(ta & tb) / len(ta | tb) if ta | tb else 0.0


def uriel_similarity(task_langs: list[str], target_langs: list[str],
                     iso: Callable[[str], str]) -> tuple[float | None, list[str]]:
    """Mean over target languages of the best similarity to a task language; None (and
    the languages URIEL lacks) when no pair can be compared."""
    from sweeper.rank import uriel

    missing = sorted({c for c in task_langs + target_langs if not uriel.known(iso(c))})
    sims = []
    for target in target_langs:
        scores = [1.0 - float(np.mean(list(uriel.distances(iso(t), iso(target)).values())))
                  for t in task_langs if t not in missing and target not in missing]
        if scores:
            sims.append(max(scores))
    return (float(np.mean(sims)) if sims else None), missing


class Embedder:
    """Mean-pooled last-layer vectors of token samples, cached under `cache/rank`."""

    def __init__(self, model: str, tokenizer: Any, cache: Path, identity: str):
        self.model_name, self.tokenizer = model, tokenizer
        self.folder, self.identity = Path(cache) / "rank", identity
        self._encoder: torch.nn.Module | None = None

    def encoder(self) -> torch.nn.Module:
        if self._encoder is None:
            from sweeper.model.encoders import load_encoder

            self._encoder = load_encoder(self.model_name, self.tokenizer, seed=0).eval()
        return self._encoder

    def vector(self, what: str, seqs: list[list[int]]) -> np.ndarray:
        key = digest({"model": self.identity, "what": what, "n": len(seqs),
                      "max_length": MAX_LENGTH, "ids": digest(seqs, 16)}, 20)
        path = self.folder / f"{key}.npy"
        if path.is_file():
            return np.load(path)
        from sweeper.model.batching import pad

        vectors = []
        pad_id = self.tokenizer.pad_token_id
        with torch.no_grad():
            for start in range(0, len(seqs), 32):
                ids = pad([s[:MAX_LENGTH] for s in seqs[start:start + 32]], pad_id)
                mask = (ids != pad_id).long()
                hidden = self.encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
                pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                vectors.append(pooled)
        out = torch.cat(vectors).mean(0).numpy().astype(np.float64)
        self.folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, out)
        write_bytes(path, buffer.getvalue())
        return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def zscores(values: list[float | None]) -> list[float]:
    """Standardised across candidates (a missing value, or no spread, is 0)."""
    known = np.array([v for v in values if v is not None], dtype=float)
    if len(known) < 2 or float(known.std()) == 0.0:
        return [0.0] * len(values)
    mean, std = float(known.mean()), float(known.std())
    return [0.0 if v is None else (v - mean) / std for v in values]
