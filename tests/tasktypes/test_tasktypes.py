"""Task types: the registry is what the catalog allows, every type keeps the contract, and
a tiny trial runs for every registered type (as a target where the catalog has a target
of that type, else as an intermediate task before Tatoeba)."""

from __future__ import annotations

import json

import pytest

from sweeper import tasktypes
from sweeper.catalog import load_catalog
from sweeper.errors import ConfigError
from sweeper.tasktypes.base import TaskType
from sweeper.trial.run import run_trial
from sweeper.trial.settings import TrialSettings

TYPES = tasktypes.names()


def test_the_registry_is_what_the_catalog_allows(catalog, tmp_path):
    assert set(TYPES) >= {"classification", "pair_classification", "multiple_choice",
                          "token_classification", "qa", "retrieval", "mlm"}
    assert {t.type for t in catalog.tasks.values()} <= set(TYPES)
    with pytest.raises(ConfigError, match="unknown task type 'regresion'"):
        tasktypes.get("regresion")


@pytest.mark.parametrize("name", TYPES)
def test_every_type_keeps_the_contract(name, catalog):
    kind = tasktypes.get(name)
    assert isinstance(kind, TaskType) and kind.name == name and kind.columns and kind.metrics
    assert kind.export in ("tsv", "json")
    if kind.trains:
        assert kind.train_columns and type(kind).loss is not None
    tasks = [t for t in catalog.tasks.values() if t.type == name]
    assert tasks, f"no catalog task of type {name}: nothing would ever run it"
    assert all(t.metric in kind.metrics for t in tasks)
    if not kind.evaluates:
        assert not [t for t in tasks if t.is_target]


def _trial_for(name: str) -> TrialSettings:
    """The cheapest trial that runs type `name`: one of its targets, else one of its
    intermediate tasks before Tatoeba."""
    catalog = load_catalog()
    tasks = [t for t in catalog.tasks.values() if t.type == name and t.hub or t.type == name]
    target = next((t for t in tasks if t.is_target), None)
    base = dict(model="tiny", max_train_examples=40, max_eval_examples=20, target_epochs=1,
                intermediate_epochs=1, eval_languages=["en", "de", "sw"], batch_size=8)
    if target is not None:
        return TrialSettings.build(targets=[target.name], **base)
    inter = next(t for t in tasks if t.is_intermediate and t.hub)
    return TrialSettings.build(targets=["tatoeba"], intermediate=[inter.name], **base)


@pytest.mark.parametrize("name", TYPES)
def test_a_tiny_trial_runs_for_every_registered_type(name, tmp_path):
    settings = _trial_for(name)
    result = run_trial(settings, tmp_path)
    target = settings.targets[0]
    assert result["test"]["summary"][target]["avg_metric"] >= 0
    if settings.tasks:  # the type trained as an intermediate task: its loss came down
        history = result["training"]["intermediate"]["history"]
        assert history and all(point["loss"] == point["loss"] for point in history)
    files = list((tmp_path / "xtreme" / "predictions" / target).iterdir())
    assert files and json.loads((tmp_path / "metrics.json").read_text())["keys"]["baseline"]
