"""What Ray Tune restored of a sweep: every trial in its newest experiment state (its
id, status, flat parameters and last result).

Tune saves the experiment state (its trials) and the searcher's state as separate files,
and copies them to the storage one by one; a driver killed between the two copies (or a
copy refused while the tracking store was down, sweeper.runner.state_fs) leaves a
searcher a step behind or ahead of the trials. Behind, it would give a point to a second
trial, or wait for a trial that finished without telling it; ahead, it would wait
forever for a trial Tune never heard of, and its point would be lost. A searcher that
reads the restored trials gives each point to exactly one trial either way: none run
twice, none lost, none waited for in vain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweeper.space.params import RESOLVED

Point = tuple[tuple[str, str], ...]


def point(config: dict[str, Any]) -> Point:
    """A trial's flat parameters as a comparable value (its resolved settings left out:
    they follow from the rest)."""
    return tuple(sorted((k, str(v)) for k, v in config.items() if k != RESOLVED))


@dataclass(frozen=True)
class RestoredTrial:
    """One trial as Tune restored it: Tune runs again every one not `finished`."""

    trial_id: str
    status: str  # Tune's: PENDING, RUNNING, PAUSED, TERMINATED or ERROR
    config: dict[str, Any]  # its flat parameters
    result: dict[str, Any] = field(default_factory=dict)  # its last report ({}: none)

    @property
    def finished(self) -> bool:
        return self.status == "TERMINATED"


def restored_trials(folder: Path) -> list[RestoredTrial] | None:
    """The trials of `folder`'s newest experiment state (Tune restores from the newest
    by name), or None where it holds none."""
    states = sorted(folder.glob("experiment_state-*.json"))
    if not states:
        return None
    out = []
    for state, metadata in json.loads(states[-1].read_text())["trial_data"]:
        state = json.loads(state) if isinstance(state, str) else state
        metadata = json.loads(metadata) if isinstance(metadata, str) else (metadata or {})
        out.append(RestoredTrial(state["trial_id"], state.get("status", "PENDING"),
                                 _config(state), metadata.get("last_result") or {}))
    return out


def _config(state: dict[str, Any]) -> dict[str, Any]:
    """A trial's config from its saved JSON state (values Tune could not write as JSON,
    such as the resolved settings, are pickled inside it: those are not read)."""
    return {k: v for k, v in state["config"].items()
            if not (isinstance(v, dict) and "_type" in v)}
