"""What a trial tells the outside world while it runs: the `TrialHooks` protocol (the Ray
trainable reports and checkpoints through it) and `NoHooks`, its silent default."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from sweeper.trial import keys as trial_keys


class TrialHooks(Protocol):
    """What a trial tells the outside world (no-ops by default)."""

    def on_start(self, keys: trial_keys.TrialKeys, params: dict[str, Any]) -> None: ...

    def on_log(self, stage: str, step: int, values: dict) -> None: ...

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None: ...


class NoHooks:
    """Hears nothing: a trial run outside a sweep."""

    def on_start(self, keys: trial_keys.TrialKeys, params: dict[str, Any]) -> None:
        pass

    def on_log(self, stage: str, step: int, values: dict) -> None:
        pass

    def on_stage(self, stage: str, result: dict[str, Any], out_dir: Path) -> None:
        pass
