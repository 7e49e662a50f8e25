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
        raise ConfigError("device 'cuda' (asked for, or resolved for a trial given a GPU), but "
                          "no GPU is visible here (pretend GPUs: set device: cpu)")
    return torch.device(name)


def describe(device: torch.device) -> dict[str, str]:
    """What a trial computed on, as metrics.json records it (the GPU's name where one)."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"type": device.type, "name": name, "torch": torch.__version__}


def check_precision(precision: str, device: torch.device) -> None:
    """A trial resolved to bf16 (asked for, or 'auto' for GPU trials) needs a device that
    computes in it."""
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("precision bf16 (asked for, or 'auto' on a GPU), but this GPU has "
                          "no bf16: set precision: fp32")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast where asked for; plain fp32 otherwise."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
