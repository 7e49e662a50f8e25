"""`sweeper data export`: copy tasks from a source (the hub) into a local data directory."""

from __future__ import annotations

from pathlib import Path

from sweeper.catalog import Catalog
from sweeper.data.sources import HubSource, SampleSource, write_rows
from sweeper.errors import DataError


def export(catalog: Catalog, tasks: list[str], *, out: str | Path, source: str,
           languages: list[str], splits: list[str]) -> int:
    """Write <out>/<task>/<lang>/<split>.parquet for every task, language and split.

    Splits a task does not have are skipped; a task none of whose splits load is an
    error. Returns the number of files written.
    """
    specs = [catalog.task(t) for t in tasks]
    wanted = set(catalog.expand_languages(languages)) if languages else None
    if source == "hub":
        src = HubSource(catalog)
    elif source == "sample":
        src = SampleSource(catalog, Path(out) / ".sample-cache")
    else:
        raise DataError(f"export source must be hub or sample, not '{source}'")
    written = 0
    for spec in specs:
        done = 0
        for lang in spec.languages:
            if wanted is not None and lang not in wanted:
                continue
            for split in splits:
                if spec.hub and split not in spec.splits():
                    continue
                write_rows(src.load(spec, lang, split), Path(out) / spec.name / lang /
                           f"{split}.parquet")
                done += 1
        if not done:
            raise DataError(f"task '{spec.name}': nothing to export for the given languages "
                            "and splits")
        written += done
    return written
