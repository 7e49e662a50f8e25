"""Stable content hashes for keys: the same value gives the same hex string on every host."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from typing import Any


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)  # 3.0 and 3 are the same setting
    return obj


def stream_digest(readable: Any, chunk: int = 8 << 20) -> str:
    """Hex SHA-256 of what a binary file object holds, read in chunks."""
    h = hashlib.sha256()
    while block := readable.read(chunk):
        h.update(block)
    return h.hexdigest()


def digest(obj: Any, length: int = 20) -> str:
    """Hex SHA-256 of `obj`'s canonical JSON (sorted keys; tuples as lists)."""
    blob = json.dumps(_plain(obj), sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def seeded(*parts: object) -> random.Random:
    """A random generator determined by `parts` alone (stable across runs and hosts)."""
    raw = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(raw[:8], "big"))


def stage_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed for one stage of one trial, from the trial seed and the stage's name
    (and target): the same whatever ran before it in this process."""
    return seeded("stage", seed, *parts).getrandbits(31)
