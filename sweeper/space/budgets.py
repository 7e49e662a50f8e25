"""The intermediate budget of a space (`intermediate.budget:`): one budget is settings
every trial shares; a list is a design dimension, its arms each crossed with the rest of
the design (fixed total data vs fixed data per task, say). Pure module."""

from __future__ import annotations

from typing import Any

from sweeper.errors import ConfigError
from sweeper.space import schema

BUDGET_SETTINGS = {"steps": "intermediate_steps", "epochs": "intermediate_epochs",
                   "examples_per_task": "examples_cap", "examples_total": "examples_total"}


def budget_settings(budget: schema.Budget) -> dict[str, Any]:
    """The trial settings one `budget:` stands for."""
    return {BUDGET_SETTINGS[k]: v for k, v in budget.model_dump().items()
            if k in BUDGET_SETTINGS and v is not None}


def arm_name(budget: schema.Budget) -> str:
    """An arm's name: its own, else its settings ('epochs=2,examples_total=12000')."""
    return budget.name or ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in budget.model_dump().items()
                                   if k != "name" and v is not None)


def budgets(raw: schema.Intermediate, hyper: dict[str, Any], where: str
             ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(settings every trial shares, arms: name -> settings) of `budget:`: one budget is
    fixed settings, a list is a design dimension. Spelled once: a budget leaves no
    intermediate_epochs among the hyperparameters."""
    if raw.budget is None:
        return {}, {}
    if "intermediate_epochs" in hyper:
        raise ConfigError(f"{where}: the budget is spelled in intermediate.budget: move "
                          "intermediate_epochs there (epochs:)")
    if not isinstance(raw.budget, list):
        return budget_settings(raw.budget), {}
    arms = {arm_name(b): budget_settings(b) for b in raw.budget}
    if len(arms) != len(raw.budget):
        raise ConfigError(f"{where}: intermediate.budget arms repeat a name")
    return {}, arms
