"""What settings resolve against, found once: the model's identity and shape, its
tokenizer, the data source and each task's data version, the device kind.

`open_environment` is called once by `sweeper trial` (for its one trial) and once by a
sweep's driver (for every task its space can use); the `Facts` it finds are what
`sweeper.trial.resolve.resolve` turns settings into effective values with. The source
and tokenizer stay in the process that opened them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from transformers import PreTrainedTokenizerBase

from sweeper.catalog import Catalog
from sweeper.data.features import tokenizer_fingerprint
from sweeper.data.sample.tokenizer import tiny_tokenizer_dir
from sweeper.data.sources import DataSource, check_available, make_source
from sweeper.errors import SweeperError
from sweeper.frozen import freeze
from sweeper.model import encoders
from sweeper.model.device import pick_device
from sweeper.trial.checks import check_settings
from sweeper.trial.jobs import required_data
from sweeper.trial.resolve import involved_tasks
from sweeper.trial.resolved import Facts, ResolvedTrial
from sweeper.trial.settings import TrialSettings, cache_root


@dataclass
class Environment:
    """A data source and tokenizer, with the facts settings resolve against."""

    source: DataSource
    tokenizer: PreTrainedTokenizerBase
    facts: Facts


def load_tokenizer(model: str, catalog: Catalog, cache: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer of `model`; the tiny (and small) model's is trained on the sample
    lexicon."""
    tiny = tiny_tokenizer_dir(catalog, cache) if model in encoders.OFFLINE else None
    return encoders.load_tokenizer(model, tiny)


def open_environment(settings: TrialSettings, catalog: Catalog, *, tasks: Iterable[str],
                     device: str | None = None) -> Environment:
    """Load the tokenizer and data source of `settings` and find the facts for `tasks`
    (every task that will be read); `device` is the kind trials compute on (default:
    this machine's, by the `device` setting)."""
    cache = cache_root(settings.runtime)
    tokenizer = load_tokenizer(settings.model, catalog, cache)
    source = make_source(settings.data, catalog, cache, settings.common.local_data)
    layers, positions = encoders.shape(settings.model)
    facts = Facts(model_id=encoders.model_identity(settings.model),
                  tokenizer=tokenizer_fingerprint(tokenizer), num_layers=layers,
                  max_positions=positions,
                  data_versions=freeze({t: source.version(catalog.task(t)) for t in tasks}),
                  device=device or pick_device(settings.runtime.device).type)
    return Environment(source, tokenizer, facts)


def resolve_here(settings: TrialSettings, catalog: Catalog) -> tuple[ResolvedTrial, Environment]:
    """One trial's settings resolved on this machine (what `sweeper trial` runs), its data
    checked to be where it will be read from."""
    from sweeper.trial.resolve import resolve

    check_settings(settings, catalog)
    check_available(required_data(settings, catalog, settings.tasks), data=settings.data,
                    local=settings.common.local_data, catalog=catalog)
    env = open_environment(settings, catalog, tasks=involved_tasks(settings, catalog))
    return resolve(settings, catalog, env.facts), env


def reopen(resolved: ResolvedTrial, catalog: Catalog) -> Environment:
    """The source and tokenizer of a trial resolved elsewhere (a sweep's driver), checked
    against what it was resolved with: a node whose tokenizer differs would compute under
    another trial's keys."""
    cache = cache_root(resolved.runtime)
    tokenizer = load_tokenizer(resolved.model, catalog, cache)
    found = tokenizer_fingerprint(tokenizer)
    if found != resolved.facts.tokenizer:
        raise SweeperError(f"the tokenizer of '{resolved.model}' here ({found}) differs from "
                           f"the one the trial was resolved with ({resolved.facts.tokenizer})")
    source = make_source(resolved.data, catalog, cache, dict(resolved.local))
    return Environment(source, tokenizer, resolved.facts)
