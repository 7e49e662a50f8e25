"""`sweeper data check`: does every catalog entry still match its hub repo?

For each task's hub sources, the configs its languages need are resolved through
`datasets.load_dataset_builder` (the same resolution `load_dataset` makes, without
downloading data): the revision, the splits the catalog reads, the columns its mapping
names and, where the repo declares class labels, their order against the catalog's. A
repo that declares no features is read from its first data file's parquet footer only.
"""

from __future__ import annotations

import functools
from typing import Any

import datasets
import fsspec
import pyarrow.parquet as pq

from sweeper.catalog import Catalog, HubSpec, TaskSpec
from sweeper.data.sources import (
    RepoResolver,
    hub_path,
    load_call,
    mapped_columns,
    template_vars,
)
from sweeper.errors import DataError, one_line
from sweeper.hub import hub_commit


def check_hub_reachable(repo_id: str | None) -> None:
    """One quick question to the hub before many: offline is one line, not a retry storm."""
    from huggingface_hub import HfApi
    from huggingface_hub.constants import HF_HUB_OFFLINE

    if repo_id is None:
        return
    if HF_HUB_OFFLINE:
        raise DataError("the hub is switched off here (HF_HUB_OFFLINE is set): `sweeper data "
                        "check` reads hub metadata")
    try:
        HfApi().repo_info(repo_id, repo_type="dataset", timeout=10)
    except Exception as exc:
        raise DataError(f"the Hugging Face hub cannot be reached ({one_line(exc, 120)}): "
                        "`sweeper data check` reads hub metadata") from None


@functools.lru_cache(maxsize=None)
def _commit(repo_id: str, revision: str | None) -> str:
    return hub_commit(repo_id, repo_type="dataset", revision=revision)


def configs_needed(task: TaskSpec, src: HubSpec, catalog: Catalog,
                   languages: list[str] | None) -> dict[str | None, set[str]]:
    """The hub configs `src` is read from for the task's (chosen) languages, in order,
    each with the hub splits read from it (`Catalog.splits_read`)."""
    langs = [lang for lang in task.languages if languages is None or lang in languages]
    out: dict[str | None, set[str]] = {}
    for lang in langs:
        config = src.config.format(**template_vars(catalog, lang)) if src.config else None
        logical = catalog.splits_read(task, lang) & set(src.splits)
        out.setdefault(config, set()).update(
            name.split("[", 1)[0] for split in logical for name in src.splits[split])
    return out


def _features(builder: Any) -> datasets.Features | None:
    if builder.info.features is not None:
        return builder.info.features
    files = [f for split_files in (builder.config.data_files or {}).values() for f in split_files]
    if not files or not str(files[0]).endswith(".parquet"):
        return None
    with fsspec.open(str(files[0]), "rb") as handle:  # the footer only, not the data
        return datasets.Features.from_arrow_schema(pq.read_schema(handle))


def _label_problem(task: TaskSpec, features: datasets.Features) -> str | None:
    """The repo's class-label names against the catalog's (index-encoded labels)."""
    column = task.columns.get("label") or task.columns.get("tags")
    if not isinstance(column, str) or column not in features or not task.labels:
        return None
    feature = features[column]
    while isinstance(feature, (datasets.Sequence, list)):
        feature = feature.feature if isinstance(feature, datasets.Sequence) else feature[0]
    if isinstance(feature, datasets.ClassLabel) and task.label_encoding == "index":
        if list(feature.names) != list(task.labels):
            return (f"label names of '{column}' are {feature.names}, the catalog has "
                    f"{list(task.labels)}")
    return None


def check_source(task: TaskSpec, src: HubSpec, config: str | None, splits: set[str], *,
                 resolve: RepoResolver = hub_path) -> dict[str, Any]:
    """One (task, hub source, config) and the hub `splits` read from it: what the hub
    says, and what does not match."""
    row: dict[str, Any] = {"task": task.name, "id": src.id, "config": config,
                           "revision": src.revision or "main", "problems": []}
    name, extra = load_call(config, src.revision)
    try:
        builder = datasets.load_dataset_builder(resolve(src.id, src.revision), name,
                                                revision=src.revision, **extra)
    except Exception as exc:  # unknown repo or config, a loading script, no network
        row["problems"].append(one_line(exc, 200))
        return row
    row["commit"] = _commit(src.id, src.revision)
    available = {str(s) for s in (builder.config.data_files or {})} | \
        {str(s) for s in (builder.info.splits or {})}
    row["splits"] = sorted(available)
    missing = [s for s in sorted(splits) if s not in available]
    if missing:
        row["problems"].append(f"missing split(s) {missing} (has {sorted(available)})")
    try:
        features = _features(builder)
    except Exception as exc:
        row["problems"].append(f"cannot read the columns: {one_line(exc, 200)}")
        return row
    if features is None:
        row["problems"].append("the repo declares no columns and has no parquet file")
        return row
    row["columns"] = sorted(features)
    needed = mapped_columns(task) + list(src.filter) + (["id"] if src.id_prefix else [])
    absent = sorted({c for c in needed if c not in features})
    if absent:
        row["problems"].append(f"missing column(s) {absent} (has {sorted(features)})")
    label = _label_problem(task, features)
    if label:
        row["problems"].append(label)
    return row


def check_tasks(tasks: list[TaskSpec], catalog: Catalog, *, languages: list[str] | None = None,
                resolve: RepoResolver = hub_path) -> list[dict[str, Any]]:
    """A row per (task, hub source, config) needed for `languages` (None: all)."""
    rows = []
    for task in tasks:
        if not task.hub:
            rows.append({"task": task.name, "id": None, "config": None, "revision": None,
                         "problems": ["not on the hub: local files only"]})
            continue
        for src in task.hub:
            for config, splits in configs_needed(task, src, catalog, languages).items():
                rows.append(check_source(task, src, config, splits, resolve=resolve))
    return rows


def check_catalog(catalog: Catalog, tasks: list[str], languages: list[str]
                  ) -> list[dict[str, Any]]:
    """`sweeper data check`: the named tasks (none: every task with a hub source) in the
    named languages or groups (none: all), after one question to the hub."""
    names = tasks or [t.name for t in catalog.tasks.values() if t.hub]
    specs = [catalog.task(n) for n in names]
    langs = catalog.expand_languages(languages) if languages else None
    check_hub_reachable(next((t.hub[0].id for t in specs if t.hub), None))
    return check_tasks(specs, catalog, languages=langs)
