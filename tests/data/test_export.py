"""`export` writes a source's splits as the local layout, read back equal."""

from __future__ import annotations

import pytest

from sweeper.data.export import export
from sweeper.data.sources import LocalSource, SampleSource
from sweeper.errors import DataError


def test_export_then_read_locally(tmp_path, catalog, cache_root):
    n = export(catalog, ["xnli", "mnli"], out=tmp_path / "data", source="sample",
               languages=["en", "sw"], splits=["train", "validation", "test"])
    assert n == 4 + 2  # xnli: en,sw x validation,test; mnli: en x train,validation
    local = LocalSource(tmp_path / "data")
    sampled = SampleSource(catalog, cache_root)
    for task, lang, split in (("xnli", "sw", "test"), ("mnli", "en", "train")):
        spec = catalog.task(task)
        assert local.load(spec, lang, split).to_list() == sampled.load(spec, lang, split).to_list()
    with pytest.raises(DataError, match="missing split.*xnli/de/test"):
        local.load(catalog.task("xnli"), "de", "test")
    (tmp_path / "data" / "xnli" / "en" / "test.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="malformed data file"):
        local.load(catalog.task("xnli"), "en", "test")
