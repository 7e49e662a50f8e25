"""How the speed levers' runtime settings read: `compile` and `cuda_graphs` (the length
buckets' own reader is sweeper.model.buckets.parse). Pure module: the settings' checks
use it before anything loads torch."""

from __future__ import annotations

from typing import Any

from sweeper.errors import ConfigError

GRAPHS = ("auto", "on", "off")
COMPILE = {"off": None, "layers": "default", "layers+graphs": "reduce-overhead"}
ALIASES = {"true": "layers", "false": "off"}  # the boolean setting it replaces


def compile_mode(asked: Any) -> str:
    """The `compile` setting as off, layers or layers+graphs (true/false as aliases)."""
    text = str(asked).strip().lower()
    text = ALIASES.get(text, text)
    if text not in COMPILE:
        raise ConfigError(f"compile '{asked}' is not one of {', '.join(COMPILE)} "
                          "(true/false: layers/off)")
    return text


def graphs_mode(asked: Any) -> str:
    """The `cuda_graphs` setting, checked."""
    text = str(asked).strip().lower()
    if text not in GRAPHS:
        raise ConfigError(f"cuda_graphs '{asked}' is not one of {', '.join(GRAPHS)}")
    return text
