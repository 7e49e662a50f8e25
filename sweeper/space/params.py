"""A trial's flat parameters: the one mapping Ray Tune, Optuna, the searchers and the
trial's run all see, defined here once.

Its design keys say which tasks a trial trains and where it sits in the design; every
other key is a searched hyperparameter under its setting's flat name (`lr`), except the
searcher's own bookkeeping (`w_<task>`, `count_<mix>`: Optuna's task weights and counts)
and `settings` (RESOLVED), under which the trial's ResolvedTrial travels (added on the driver,
sweeper.search.searchers). `space.params_to_settings` turns them into trial settings.
Pure module.
"""

from __future__ import annotations

from typing import Any, TypedDict


class TrialParams(TypedDict, total=False):
    """The design keys of a trial's parameters (hyperparameters ride beside them)."""

    mix: str  # english / non_english / mixed / set / chain / none (no tasks)
    count: int  # how many intermediate tasks
    tasks: str  # the task list, comma-separated ("" for none)
    seed: int
    chain: int  # chain designs: the chain's index
    added: str  # chain designs: the task this trial adds to the previous one's
    budget: str  # budget arms: the arm's name
    set: str  # Optuna over fixed sets: the set's name
    rung: str  # fidelity ladders: the rung the trial runs at (its settings are the rung's)
    level: int  # fidelity ladders: the rung's place, 0 the cheapest
    via: str  # fidelity ladders: how the set reached the rung (start, promoted, audited,
    # reference: the set without tasks, sent up so that every rung has its own)


DESIGN_KEYS = frozenset(TrialParams.__annotations__)
RESOLVED = "settings"  # the config key a trial's ResolvedTrial travels under (on the driver)
SEARCHER_ONLY = ("w_", "count_")  # prefixes of the searcher's own parameters


def task_list(params: dict[str, Any]) -> list[str]:
    """The trial's intermediate tasks, in order."""
    return [t for t in str(params.get("tasks", "")).split(",") if t]


def hyperparameters(params: dict[str, Any]) -> dict[str, Any]:
    """The searched settings among a trial's parameters."""
    return {k: v for k, v in params.items()
            if k not in DESIGN_KEYS and k != RESOLVED and not k.startswith(SEARCHER_ONLY)}


def without_resolved(config: dict[str, Any]) -> dict[str, Any]:
    """A Tune config's parameters, the resolved settings left out."""
    return {k: v for k, v in config.items() if k != RESOLVED}
