"""Trial settings read from outside: `--set key=value` strings (the CLI's) and
trial_config.yaml's nested groups, each value read and checked as its setting says
(sweeper.trial.fields). Pure module."""

from __future__ import annotations

from typing import Any

from sweeper.errors import ConfigError
from sweeper.trial.fields import coerce
from sweeper.trial.settings import GROUPS, TrialSettings, lookup


def parse_value(key: str, raw: Any) -> Any:
    """Coerce a `--set key=value` (or YAML) value to the setting's type and check it."""
    return coerce(lookup(key), raw)


def apply_overrides(settings: TrialSettings, pairs: list[str]) -> TrialSettings:
    """Apply `key=value` strings (the CLI's --set) to a copy of `settings`."""
    updates = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set expects key=value, got '{pair}'")
        updates[key.strip()] = raw
    return settings.replace(**updates)


def settings_from_dict(data: dict[str, Any]) -> TrialSettings:
    """TrialSettings from trial_config.yaml's nested groups (or flat names)."""
    if not isinstance(data, dict):
        raise ConfigError("trial settings must be a mapping")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in GROUPS:
            if not isinstance(value, dict):
                raise ConfigError(f"settings group '{key}' must be a mapping")
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return TrialSettings.build(**flat)
