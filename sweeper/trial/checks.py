"""The checks a trial's settings pass before anything runs: every value in its range,
names known to the catalog and of the right role, combinations that make sense. One
ConfigError naming the first bad setting. Pure module."""

from __future__ import annotations

from sweeper.catalog import Catalog
from sweeper.errors import ConfigError
from sweeper.model import buckets
from sweeper.model.lever_settings import compile_mode
from sweeper.trial.fields import validate
from sweeper.trial.settings import TrialSettings


def check_settings(settings: TrialSettings, catalog: Catalog) -> TrialSettings:
    """Raise ConfigError naming the first bad setting; returns the settings."""
    for s, value in settings.items():
        validate(s, value)
    if not settings.targets:
        raise ConfigError("a trial needs at least one target (--target)")
    for name in settings.targets:
        task = catalog.task(name)
        if not task.is_target:
            raise ConfigError(f"'{name}' is not a target task (role {task.role})")
    for name in settings.tasks:
        task = catalog.task(name)
        if not task.is_intermediate:
            raise ConfigError(f"'{name}' is not an intermediate task (role {task.role})")
    for group, names in (("intermediate", settings.tasks), ("targets", settings.targets)):
        if len(set(names)) != len(names):
            raise ConfigError(f"{group} repeat: {names}")
    for name in settings.common.local_data:
        catalog.task(name)  # an unknown task is an error, not silently nothing
    for name in settings.target.batch_size:
        if name not in settings.targets:
            raise ConfigError(f"target_batch_size names '{name}', not a target of the trial")
    phase = settings.intermediate
    if phase.examples_cap is not None and phase.examples_total is not None:
        raise ConfigError("examples_cap and examples_total are two budgets: give one")
    if phase.examples_total is not None and phase.tasks and \
            phase.examples_total < len(phase.tasks):
        raise ConfigError(f"examples_total {phase.examples_total} is less than one example "
                          f"per task ({len(phase.tasks)} tasks)")
    micro = settings.runtime.micro_batch
    if micro != "auto" and not (micro.isdigit() and int(micro) >= 1):
        raise ConfigError(f"micro_batch '{micro}' is not 'auto' or a number >= 1")
    buckets.parse(settings.runtime.length_buckets)  # each raises naming its setting
    compile_mode(settings.runtime.compile)
    wanted = set(catalog.expand_languages(settings.evaluation.languages))
    for name in settings.targets:
        if wanted and not wanted & set(catalog.task(name).languages):
            raise ConfigError(f"eval_languages {settings.evaluation.languages} include none of "
                              f"{name}'s languages")
    return settings
