"""A space's intermediate design: the pool of tasks per language mix (keywords
expanded, protocol breakers dropped or refused), the task counts per mix, fixed sets.
Pure module."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sweeper import tasktypes
from sweeper.catalog import Catalog
from sweeper.digest import seeded
from sweeper.errors import ConfigError
from sweeper.space import schema


@dataclass
class Design:
    """What a space's `intermediate:` section asks for, checked against the catalog."""

    pool: dict[str, list[str]] = field(default_factory=dict)  # mix -> tasks it may draw from
    counts: dict[str, list[int]] = field(default_factory=dict)  # mix -> task counts
    sets: list[list[str]] = field(default_factory=list)  # fixed task sets
    allow: bool = False  # protocol-breaking tasks allowed
    draws: int = 1  # grid: task subsets drawn per (mix, count)
    chains: list[list[str]] = field(default_factory=list)  # each chain's tasks, in order


def _pool(catalog: Catalog, names: list[str], targets: list[str], allow: bool,
          where: str) -> list[str]:
    """Expand `english` / `non_english` / `all` / `translated` / `mlm` and task names; drop
    protocol breakers."""
    running_text = [n for n, kind in tasktypes.registry().items() if kind.running_text]
    out: list[str] = []
    for name in names:
        if name in ("english", "non_english", "all"):  # labelled tasks
            tasks = [t.name for t in catalog.intermediates() if not t.kind.running_text and
                     (name == "all" or t.is_english == (name == "english"))]
        elif name == "translated":  # machine translations of English tasks
            tasks = [t.name for t in catalog.intermediates() if t.is_translated]
        elif name in running_text:  # e.g. masked LM on running text: named by its type
            tasks = [t.name for t in catalog.intermediates() if t.type == name]
        else:
            task = catalog.task(name)
            if not task.is_intermediate:
                raise ConfigError(f"{where}: '{name}' is not an intermediate task")
            tasks = [name]
        out.extend(t for t in tasks if t not in out)
    breaking = [t for t in out if catalog.task(t).breaks_zero_shot(targets)]
    if breaking and not allow:
        named = [t for t in breaking if t in names]
        if named:
            raise ConfigError(f"{where}: {named} break zero-shot for {targets} "
                              "(set allow_protocol_breaking: true to use them)")
        out = [t for t in out if t not in breaking]
    return out



def _counts(raw: Any) -> list[int] | None:
    if raw is None:
        return None
    if isinstance(raw, schema.CountRange):
        lo, hi = raw.min, raw.max
        values = ({0} | {2 ** i for i in range(hi.bit_length())}) if raw.log else range(lo, hi + 1)
        return sorted(c for c in values if lo <= c <= hi)
    return sorted(set(raw))


def chain_orders(pool: list[str], length: int, permutations: int) -> list[list[str]]:
    """`permutations` seeded random orders of `pool`, each cut to its first `length`."""
    return [seeded("chain", ",".join(pool), p).sample(pool, len(pool))[:length]
            for p in range(permutations)]


def _chains(raw: schema.Intermediate, catalog: Catalog, targets: list[str], where: str
            ) -> Design:
    given = raw.model_fields_set & {"pool", "counts", "sets", "language_mix", "draws"}
    if given:
        raise ConfigError(f"{where}: chains replace {', '.join(sorted(given))}: give one design")
    spec = raw.chains
    for name in raw.exclude:
        catalog.task(name)
    pool = [t for t in _pool(catalog, list(spec.pool), targets, raw.allow_protocol_breaking,
                             where) if t not in raw.exclude]
    if spec.length > len(pool):
        raise ConfigError(f"{where}: chains.length {spec.length} is longer than the chain "
                          f"pool ({len(pool)} tasks: {', '.join(pool)})")
    return Design(pool={"chain": pool}, allow=raw.allow_protocol_breaking,
                  chains=chain_orders(pool, spec.length, spec.permutations))


def intermediate_design(raw: schema.Intermediate, catalog: Catalog, targets: list[str], where: str
                        ) -> Design:
    """The design of a space's `intermediate:` section, checked against the catalog."""
    if raw.chains is not None:
        return _chains(raw, catalog, targets, where)
    allow = raw.allow_protocol_breaking
    sets = [list(s) for s in raw.sets]
    for s in sets:
        for name in s:
            if not catalog.task(name).is_intermediate:
                raise ConfigError(f"{where}: '{name}' in sets is not an intermediate task")
            if catalog.task(name).breaks_zero_shot(targets) and not allow:
                raise ConfigError(f"{where}: '{name}' breaks zero-shot for {targets} "
                                  "(set allow_protocol_breaking: true to use it)")
    for name in raw.exclude:
        catalog.task(name)  # an unknown name is an error, not silently nothing
    base = [t for t in _pool(catalog, list(raw.pool), targets, allow, where)
            if t not in raw.exclude]
    mixes = raw.language_mix
    if isinstance(mixes, list):
        mixes = {m: None for m in mixes}
    pool, counts = {}, {}
    for mix, override in mixes.items():
        cs = _counts(override.counts if override is not None and override.counts is not None
                     else raw.counts)
        if cs is None:
            if sets:
                continue
            raise ConfigError(f"{where}: give `counts` (how many tasks per trial)")
        tasks = [t for t in base
                 if mix == "mixed" or catalog.task(t).is_english == (mix == "english")]
        if not tasks and any(cs):
            raise ConfigError(f"{where}: the {mix} pool is empty")
        if max(cs) > len(tasks):
            raise ConfigError(f"{where}: count {max(cs)} is larger than the {mix} pool "
                              f"({len(tasks)} tasks: {', '.join(tasks)})")
        few = [k for k in cs if k and math.comb(len(tasks), k) < raw.draws]
        if few:
            k = few[0]
            raise ConfigError(f"{where}: draws {raw.draws} is more than the "
                              f"{math.comb(len(tasks), k)} distinct sets of {k} tasks in the "
                              f"{mix} pool ({len(tasks)} tasks)")
        pool[mix], counts[mix] = tasks, cs
    if not sets and not counts:
        raise ConfigError(f"{where}: needs `sets` or `counts`")
    return Design(pool, counts, sets, allow, raw.draws)
