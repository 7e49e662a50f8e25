"""The device a trial runs on and the precision it computes in."""

from __future__ import annotations

import contextlib

import torch

from sweeper.errors import ConfigError


def pick_device(name: str) -> torch.device:
    """'auto' (a GPU when there is one), 'cpu' or 'cuda' (an error without a GPU)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no GPU is visible")
    return torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' becomes bf16 on a GPU that supports it and fp32 elsewhere."""
    if precision != "auto":
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("precision 'bf16' asked for, but this GPU has no bf16")
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast where asked for; plain fp32 otherwise."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
