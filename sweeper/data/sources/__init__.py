"""Where task data comes from: the hub, a local directory, or the synthetic sample.

Every source returns a `datasets.Dataset` in the task's HUB schema for one
(task, language, logical split); `normalize` then maps any of them onto the canonical
columns the pipeline uses. So there is one code path after loading.

Local layout (what `sweeper data export` writes and the sample source generates):
``<dir>/<task>/<lang>/<split>.parquet`` (or ``.jsonl``), split in train/validation/test.

`base` holds the protocol, `hub`, `local` and `sample` the three sources; this module
chooses among them (per task, where some tasks are read from local folders) and checks
that the data a run needs is there.
"""

from __future__ import annotations

import os

import datasets

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.sources.base import DataSource, mapped_columns, template_vars
from sweeper.data.sources.hub import (
    PARQUET_REVISION,
    HubSource,
    RepoResolver,
    hub_path,
    load_call,
)
from sweeper.data.sources.local import LocalSource, write_rows
from sweeper.data.sources.sample import SampleSource

__all__ = ["PARQUET_REVISION", "DataSource", "HubSource", "LocalSource", "MixedSource",
           "RepoResolver", "SampleSource", "check_available", "hub_path", "load_call",
           "make_source", "mapped_columns", "template_vars", "write_rows"]


class MixedSource:
    """One source for most tasks, local folders for some (`task=DIR`): CCGbank or the BUCC
    release beside the hub, say."""

    def __init__(self, base: DataSource, local: dict[str, LocalSource]):
        self.base, self.local = base, local
        self.name = f"{base.name}+local"

    def source(self, task: TaskSpec) -> DataSource:
        return self.local.get(task.name, self.base)

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        return self.source(task).load(task, lang, split)

    def version(self, task: TaskSpec) -> str:
        return self.source(task).version(task)

    def where(self, task: TaskSpec, lang: str, split: str) -> str:
        return self.source(task).where(task, lang, split)


def check_available(needed: list[tuple[TaskSpec, str, str]], *, data: str,
                    local: dict[str, str], catalog: Catalog) -> None:
    """Every (task, language, split) in `needed` exists where it will be read from: local
    folders (a data DIR, or a task's `local` folder) file by file; the hub as far as the
    catalog says (the hub itself is asked on load); the sample makes anything. Creates
    nothing, so read-only commands may call it."""
    overrides = {catalog.task(t).name: LocalSource(d) for t, d in local.items()}
    base = LocalSource(data) if data not in ("sample", "hub") else None
    for task, lang, split in needed:
        folder = overrides.get(task.name, base)
        if folder is not None:
            folder.check(task, lang, split)
        elif data == "hub":
            HubSource.check(task, lang, split)


def make_source(spec: str, catalog: Catalog, cache_root: str | os.PathLike,
                local: dict[str, str] | None = None) -> DataSource:
    """`sample` (default), `hub`, or a path to a local data directory; `local` ({task:
    DIR}) reads those tasks from local folders instead."""
    if spec == "sample":
        base: DataSource = SampleSource(catalog, cache_root)
    elif spec == "hub":
        base = HubSource(catalog)
    else:
        base = LocalSource(spec)
    if not local:
        return base
    return MixedSource(base, {catalog.task(t).name: LocalSource(d) for t, d in local.items()})
