"""BUCC as XTREME runs it: the 2018 release imported, mined over ALL its sentences;
gold-pair-only data mined too, but marked not comparable with XTREME."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from sweeper.data.bucc import import_release, release_rows
from sweeper.errors import DataError
from sweeper.tasktypes.retrieval import bitext


def _release(root: Path, lang: str = "de") -> Path:
    """A miniature release in the official names and formats, in a subfolder as the
    archives unpack: 3 gold pairs and 2 sentences without a partner on each side."""
    folder = root / f"{lang}-en"
    folder.mkdir(parents=True)
    for part, offset in (("sample", 0), ("training", 100)):
        src = [f"{lang}-{offset + i:06d}\t{lang} sentence {i}" for i in range(1, 6)]
        tgt = [f"en-{offset + i:06d}\ten sentence {i}" for i in range(1, 6)]
        gold = [f"{lang}-{offset + i:06d}\ten-{offset + 6 - i:06d}" for i in (1, 2, 3)]
        for ext, lines in ((lang, src), ("en", tgt), ("gold", gold)):
            (folder / f"{lang}-en.{part}.{ext}").write_text("\n".join(lines) + "\n")
    return root


def test_release_rows_hold_every_sentence(tmp_path):
    rows = release_rows(_release(tmp_path), "de", "validation")
    assert len(rows) == 3 + 2 + 2
    assert rows[0] == {"source_id": "de-000001", "source_sentence": "de sentence 1",
                       "target_id": "en-000005", "target_sentence": "en sentence 5",
                       "source_lang": "de", "target_lang": "en"}
    assert [r["target_id"] for r in rows[3:5]] == ["", ""]  # sources without a partner
    assert [r["source_id"] for r in rows[5:]] == ["", ""]  # targets without a partner
    test = release_rows(tmp_path, "de", "test")  # the `training` part, as XTREME renames it
    assert test[0]["source_id"] == "de-000101"


def test_import_writes_the_local_layout_and_checks_first(tmp_path):
    written = import_release(_release(tmp_path / "rel"), tmp_path / "data", ["de"])
    assert sorted(p.relative_to(tmp_path / "data").as_posix() for p in written) == [
        "bucc2018/de/test.parquet", "bucc2018/de/validation.parquet"]
    table = pq.read_table(tmp_path / "data" / "bucc2018" / "de" / "validation.parquet")
    assert table.num_rows == 7 and "source_id" in table.column_names
    with pytest.raises(DataError, match="no fr-en.sample"):  # nothing written for fr
        import_release(tmp_path / "rel", tmp_path / "more", ["de", "fr"])
    assert not (tmp_path / "more").exists()


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "de-en.sample.gold").unlink(), r"de-en.sample.gold is missing"),
    (lambda d: (d / "de-en.sample.de").write_text("no tab here\n"), r"de-en.sample.de:1: "
     "expected 'ID<TAB>sentence'"),
    (lambda d: (d / "de-en.sample.gold").write_text("de-000001\ten-999999\n"),
     r"names a sentence that is not in the sentence files"),
])
def test_a_broken_release_is_one_line_naming_the_file(tmp_path, breakage, message):
    root = _release(tmp_path / "rel")
    breakage(root / "de-en")
    with pytest.raises(DataError, match=message):
        release_rows(root, "de", "validation")
    done = run_cli("data", "import", "bucc2018", "--from", str(root), "--out",
                   str(tmp_path / "out"), "--languages", "de")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_import_from_the_command_line(tmp_path):
    done = run_cli("data", "import", "bucc2018", "--from", str(_release(tmp_path / "rel")),
                   "--out", str(tmp_path / "data"), "--languages", "de")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "bucc2018" / "de" / "test.parquet").is_file()
    done = run_cli("data", "import", "bucc2018", "--from", str(tmp_path / "nowhere"), "--out",
                   str(tmp_path / "data2"))
    assert done.returncode == 2 and "BUCC release folder not found" in done.stderr


def test_a_release_gives_every_sentence_and_its_gold_pairs():
    """Sentences without a partner are mined too; gold pairs are pairs of release ids;
    gold-pair data without ids is numbered, pair by pair."""
    rows = datasets.Dataset.from_dict({
        "source": ["s1", "s2", "s3", "s4", ""], "target": ["t7", "t8", "t9", "", "t5"],
        "source_id": ["de-1", "de-2", "de-3", "de-4", ""],
        "target_id": ["en-7", "en-8", "en-9", "", "en-5"]})
    src, tgt, gold, whole = bitext(rows, "de")
    assert whole and src["rows"] == [0, 1, 2, 3] and tgt["rows"] == [0, 1, 2, 4]
    assert src["ids"] == ["de-1", "de-2", "de-3", "de-4"] and tgt["texts"][-1] == "t5"
    assert gold == {("de-1", "en-7"), ("de-2", "en-8"), ("de-3", "en-9")}
    only = bitext(datasets.Dataset.from_dict({"source": ["a", "b"], "target": ["x", "y"]}), "de")
    assert only[2] == {("de-000000", "en-000000"), ("de-000001", "en-000001")}
    assert only[3] is False


@pytest.mark.slow
def test_trials_say_how_bucc_was_mined(tmp_path, catalog, cache_root):
    """The sample data holds a whole release: mined over all sentences, pairs written
    with their ids. The same data without ids (as the hub's gold pairs) is marked."""
    from sweeper.data.sources import SampleSource, write_rows
    from sweeper.trial.reading import apply_overrides
    from sweeper.trial.run import run_trial
    from sweeper.trial.settings import TrialSettings

    settings = TrialSettings.build(targets=["bucc2018"], intermediate=[], model="tiny",
                                   data="sample")
    settings = apply_overrides(settings, ["eval_languages=de"])
    result = run_trial(settings, tmp_path / "whole")
    info = result["training"]["bucc2018"]["evaluation"]
    assert info["test"]["de"]["mining"] == "all_sentences"
    n_src, n_tgt = info["test"]["de"]["sentences"]
    sample = SampleSource(catalog, cache_root)
    raw = sample.load(catalog.task("bucc2018"), "de", "test")
    assert n_src == sum(bool(s) for s in raw["source_id"]) > sum(
        bool(s and t) for s, t in zip(raw["source_id"], raw["target_id"]))
    gold = (tmp_path / "whole" / "xtreme" / "labels" / "bucc2018" / "test-de.tsv").read_text()
    assert f"{raw['source_id'][0]}\t{raw['target_id'][0]}" in gold.splitlines()
    assert "not_comparable_with_xtreme" not in result

    pairs_only = tmp_path / "gold-only"
    for split in ("validation", "test"):
        table = sample.load(catalog.task("bucc2018"), "de", split)
        keep = [i for i, (s, t) in enumerate(zip(table["source_id"], table["target_id"]))
                if s and t]
        write_rows(table.select(keep).remove_columns(["source_id", "target_id"]),
                   pairs_only / "bucc2018" / "de" / f"{split}.parquet")
    marked = run_trial(apply_overrides(settings, [f"local_data=bucc2018={pairs_only}"]),
                       tmp_path / "marked")
    assert "NOT comparable with XTREME" in marked["not_comparable_with_xtreme"]["bucc2018"]
    saved = json.loads((tmp_path / "marked" / "metrics.json").read_text())
    assert saved["not_comparable_with_xtreme"] == marked["not_comparable_with_xtreme"]
