"""What every data source shares: the `DataSource` protocol, the values a hub config or
filter template may use for a language, and the hub columns a task's mapping reads."""

from __future__ import annotations

from typing import Protocol

import datasets

from sweeper.catalog import Catalog, TaskSpec

datasets.disable_progress_bars()


def template_vars(catalog: Catalog, lang: str) -> dict[str, str]:
    """Values a hub config / filter template may use for language `lang`."""
    info = catalog.languages[lang]
    return {"lang": lang, "name": info.name, "name_lower": info.name.lower(),
            "tatoeba": info.tatoeba}


class DataSource(Protocol):
    """Loads one (task, language, logical split) in the task's hub schema."""

    name: str

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset: ...

    def where(self, task: TaskSpec, lang: str, split: str) -> str: ...

    def version(self, task: TaskSpec) -> str:
        """Changes whenever the data this source serves for `task` may have changed."""
        ...


def mapped_columns(task: TaskSpec) -> list[str]:
    """The top-level hub columns the task's column mapping reads."""
    cols: list[str] = []
    for value in task.columns.values():
        for col in value if isinstance(value, list) else [value]:
            cols.append(col.split(".", 1)[0])
    return cols
