"""The sample source: SYNTHETIC data generated on first use into a local directory (the
local layout), then read from it like any local folder."""

from __future__ import annotations

import os
from pathlib import Path

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.sample import generator as sample
from sweeper.data.sources.base import template_vars
from sweeper.data.sources.local import LocalSource, write_rows
from sweeper.errors import DataError


class SampleSource(LocalSource):
    """SYNTHETIC data generated on first use into a local directory, then read from it."""

    name = "sample"

    def __init__(self, catalog: Catalog, cache_root: str | os.PathLike):
        root = Path(cache_root).resolve() / f"sample-v{sample.SAMPLE_VERSION}"
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root)
        self.catalog = catalog
        self.train_sources = {t.train_from for t in catalog.targets()}

    def version(self, task: TaskSpec) -> str:
        return f"sample:v{sample.SAMPLE_VERSION}"

    def path(self, task: TaskSpec, lang: str, split: str) -> Path:
        if lang not in task.languages:
            raise DataError(f"task '{task.name}' has no language '{lang}'")
        if split not in ("train", "validation", "test"):
            raise DataError(f"unknown split '{split}' (train, validation, test)")
        p = self.root / task.name / lang / f"{split}.parquet"
        if not p.exists():
            restrict = split == "train" and (task.is_target or task.name in self.train_sources)
            prefix = ""
            if task.hub and task.hub[0].id_prefix:
                prefix = task.hub[0].id_prefix.format(**template_vars(self.catalog, lang))
            rows = sample.generate(task, lang, split, self.catalog.tier(lang),
                                   restrict_cues=restrict, id_prefix=prefix)
            write_rows(rows, p)
        return p
