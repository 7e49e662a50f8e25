"""Batch sizes that fit the device: the training micro-batch and the evaluation batch.

Neither changes a number (the effective batch and the loss normalisation decide those),
so both are runtime values: on a CPU the whole effective batch in one piece; on a GPU
the largest power of two that runs a forward (and, for training, backward) pass at the
task's longest input within MEMORY_SHARE of the device's memory, found once per device,
model shape, task type, length and precision and cached in a small JSON file. The probe
leaves the model's gradients and every random generator as it found them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from filelock import FileLock

from sweeper.digest import digest

MEMORY_SHARE = 0.85
EVAL_LIMIT = 1024  # examples per evaluation batch at the most


@contextlib.contextmanager
def _rng_kept() -> Iterator[None]:
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


@contextlib.contextmanager
def _eager(model: Any) -> Iterator[None]:
    """The probe's passes run eagerly: no CUDA graph is captured for its dummy batches
    (sweeper.model.levers)."""
    levers = getattr(model, "levers", None)
    if levers is not None:
        model.use_levers(None)
    try:
        yield
    finally:
        if levers is not None:
            model.use_levers(levers)


def _fits(step: Callable[[int], None], size: int, device: torch.device) -> bool:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    try:
        step(size)
        torch.cuda.synchronize(device)
    except torch.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    return torch.cuda.max_memory_allocated(device) <= MEMORY_SHARE * total


def _largest(step: Callable[[int], None], limit: int, device: torch.device) -> int:
    size = 1 << max(0, limit.bit_length() - 1) if limit & (limit - 1) else limit
    while size > 1 and not _fits(step, size, device):
        size //= 2
    return max(1, size)


def _cached(key: dict[str, Any], cache_root: Path, find: Callable[[], int]) -> int:
    path = Path(cache_root) / "batch_sizes.json"
    name = digest(key, 16)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        known = json.loads(path.read_text()) if path.exists() else {}
        if name not in known:
            known[name] = {"size": find(), **{k: str(v) for k, v in key.items()}}
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, indent=1))
            os.replace(tmp, path)
    return int(known[name]["size"])


def _key(model: Any, kind: Any, length: int, precision: str, device: torch.device,
         what: str, limit: int) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(device)
    return {"what": what, "device": props.name, "memory": props.total_memory,
            "model": digest(model.encoder.config.to_dict(), 16), "type": kind.name,
            "length": length, "precision": precision, "limit": limit}


def _dummy(kind: Any, size: int, length: int, device: torch.device) -> dict[str, Any]:
    """The type's dummy batch of `size` examples of `length` tokens, prepared as training
    batches are, on `device`."""
    batch = kind.prepare(kind.dummy_batch(size, length))
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def micro_batch(asked: str, *, model: Any, kind: Any, head: str, batch_size: int, length: int,
                device: torch.device, precision: str, cache_root: Path) -> int | None:
    """The training micro-batch: `asked` as a number, else (auto) the whole effective batch
    on a CPU, or the largest that fits on a GPU (None: the whole batch)."""
    if asked != "auto":
        return min(int(asked), batch_size)
    if device.type != "cuda":
        return None
    from sweeper.model.device import autocast

    def step(size: int) -> None:
        with _rng_kept(), _eager(model):
            batch = _dummy(kind, size, length, device)
            with autocast(device, precision):
                kind.loss(kind.outputs(model, head, batch), batch).backward()
            model.zero_grad(set_to_none=True)

    key = _key(model, kind, length, precision, device, "train", batch_size)
    size = _cached(key, cache_root, lambda: _largest(step, batch_size, device))
    return None if size >= batch_size else size


def eval_batch(default: int, *, model: Any, kind: Any, head: str, length: int,
               device: torch.device, precision: str, cache_root: Path) -> int:
    """Examples per evaluation batch: `default` on a CPU; on a GPU the largest that fits."""
    if device.type != "cuda":
        return default
    from sweeper.model.device import autocast

    @torch.inference_mode()
    def step(size: int) -> None:
        with autocast(device, precision):
            kind.outputs(model, head, _dummy(kind, size, length, device))

    key = _key(model, kind, length, precision, device, "eval", EVAL_LIMIT)
    return _cached(key, cache_root, lambda: _largest(step, EVAL_LIMIT, device))
