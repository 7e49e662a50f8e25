"""What a sweep is, once started: where it keeps its things (`Where`, its state file) and
what every trial of it needs to know (`SweepContext`, plain data shipped to workers)."""

from __future__ import annotations

from dataclasses import dataclass

from sweeper.catalog import Catalog
from sweeper.space.spec import SweepSpec

STATE_FILE = "sweeper.json"  # in the sweep's folder: what `resume` starts from


@dataclass
class Where:
    """Where a sweep keeps its things."""

    name: str
    folder: str  # under the storage: the name, or NAME-<id> for a second sweep of a name
    storage: str  # a folder (absolute) or a URI
    uri: str  # tracking store
    cache: str  # stage cache


@dataclass(frozen=True)
class SweepContext:
    """What every trial of a sweep needs to know (plain data: shipped to workers)."""

    name: str
    sweep_id: str  # one sweep, whatever its name: tagged on every run it makes
    tracking_uri: str
    experiment: str
    parent_run_id: str
    cache_root: str
    objective_languages: tuple[str, ...]  # expanded: the oracle averages their dev scores
    objective_metric: str  # score or gain
    selection: str = "english_dev"  # the protocol the objective follows


def sweep_context(spec: SweepSpec, catalog: Catalog, where: Where, sweep_id: str,
                  parent: str) -> SweepContext:
    """The context of a sweep started (or resumed) with `spec` at `where`."""
    return SweepContext(name=where.name, sweep_id=sweep_id, tracking_uri=where.uri,
                        experiment=where.name, parent_run_id=parent, cache_root=where.cache,
                        objective_languages=tuple(catalog.expand_languages(
                            [spec.objective_languages])),
                        objective_metric=spec.objective_metric, selection=spec.selection)
