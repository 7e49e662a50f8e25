"""What Ray Tune restored of a sweep: the flat parameters of every trial in its newest
experiment state.

Tune saves the experiment state (its trials) and the searcher's state as separate files,
and copies them to the storage one by one; a driver killed between the two copies (or a
copy refused while the tracking store was down, sweeper.runner.state_fs) leaves a
searcher a step behind or ahead of the trials. A searcher that reads which points the
restored trials already hold gives each point to exactly one trial either way: none run
twice, none lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sweeper.space.params import RESOLVED

Point = tuple[tuple[str, str], ...]


def point(config: dict[str, Any]) -> Point:
    """A trial's flat parameters as a comparable value (its resolved settings left out:
    they follow from the rest)."""
    return tuple(sorted((k, str(v)) for k, v in config.items() if k != RESOLVED))


def restored_points(folder: Path) -> set[Point] | None:
    """The points of the trials in `folder`'s newest experiment state (Tune restores from
    the newest by name), or None where it holds none."""
    states = sorted(folder.glob("experiment_state-*.json"))
    if not states:
        return None
    trials = json.loads(states[-1].read_text())["trial_data"]
    return {point(_config(state)) for state, _ in trials}


def _config(state: str | dict[str, Any]) -> dict[str, Any]:
    """A trial's config from its saved JSON state (values Tune could not write as JSON,
    such as the resolved settings, are pickled inside it: those are not read)."""
    state = json.loads(state) if isinstance(state, str) else state
    return {k: v for k, v in state["config"].items()
            if not (isinstance(v, dict) and "_type" in v)}
