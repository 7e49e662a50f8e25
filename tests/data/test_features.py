"""Examples and tokenized features: a missing column names the task; both are cached,
keyed by what builds them."""

from __future__ import annotations

import pytest

from sweeper.data.features import load_features
from sweeper.data.sources import LocalSource, SampleSource, write_rows
from sweeper.errors import DataError


def test_missing_column_names_the_task(tmp_path, catalog):
    write_rows([{"premise": "a", "label": 0}], tmp_path / "mnli" / "en" / "train.parquet")
    from sweeper.data.features import load_examples

    with pytest.raises(DataError, match="train.parquet: column 'hypothesis' "
                                        "\\(mnli's text_b\\) is missing"):
        load_examples(catalog.task("mnli"), "en", "train", LocalSource(tmp_path))


def test_tokenized_splits_are_cached_and_keyed(catalog, cache_root):
    from sweeper.trial.environment import load_tokenizer

    tok = load_tokenizer("tiny", catalog, cache_root)
    source = SampleSource(catalog, cache_root)
    task = catalog.task("sst2")
    kw = dict(source=source, tokenizer=tok, cache_root=cache_root)
    first = load_features(task, "en", "train", max_length=64, **kw)
    again = load_features(task, "en", "train", max_length=64, **kw)
    assert first.cache_files[0]["filename"] == again.cache_files[0]["filename"]
    shorter = load_features(task, "en", "train", max_length=8, **kw)
    assert shorter.cache_files[0]["filename"] != first.cache_files[0]["filename"]
    assert max(shorter["length"]) <= 8 < max(first["length"])


def test_normalised_examples_are_cached_like_features(tmp_path, catalog):
    """Gold labels come from normalised rows: built once per data version, then read from
    the cache (the source is not read again), and equal to a fresh normalisation."""
    from sweeper.data.features import load_examples

    source = SampleSource(catalog, tmp_path / "cache")
    reads: list[tuple] = []
    real = source.load
    source.load = lambda task, lang, split: reads.append((task.name, lang, split)) or real(
        task, lang, split)
    task = catalog.task("panx")
    first = load_examples(task, "sw", "test", source, tmp_path / "cache")
    assert reads.count(("panx", "sw", "test")) == 1
    again = load_examples(task, "sw", "test", source, tmp_path / "cache")
    assert reads.count(("panx", "sw", "test")) == 1  # served by the cache
    fresh = load_examples(task, "sw", "test", source)
    assert again.to_list() == first.to_list() == fresh.to_list()
    assert list((tmp_path / "cache" / "examples").glob("panx-sw-test-*"))
