"""The XTREME submission layout scorer, on hand-built folders in the official layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeper.errors import DataError
from sweeper.scoring import xtreme
from sweeper.tasktypes.base import write_lines, write_text
from sweeper.tasktypes.token_classification import read_tags, write_tags


def _build(root: Path, catalog) -> None:
    """All nine tasks, every language, with known scores per task."""
    for task in catalog.targets():
        task_name = task.name
        for lang in task.languages:
            pred = root / "predictions" / task_name / xtreme.file_name(task, lang)
            gold = root / "labels" / task_name / xtreme.file_name(task, lang)
            if task_name in ("xnli", "pawsx"):  # 75% accuracy
                write_lines(gold, ["a", "b", "c", "d"])
                write_lines(pred, ["a", "b", "c", "x"])
            elif task_name in ("udpos", "panx"):  # F1 100
                write_tags(gold, [["B-PER", "I-PER", "O"], ["NOUN"]])
                write_tags(pred, [["B-PER", "I-PER", "O"], ["NOUN"]])
            elif task.type == "qa":  # EM 0, F1 50 ("x y" vs "x z")
                write_text(gold, json.dumps({"version": "1.1", "data": [{"paragraphs": [
                    {"context": "x y z", "qas": [{"id": "q", "answers": [
                        {"text": "x y", "answer_start": 0}]}]}]}]}))
                write_text(pred, json.dumps({"q": "x z"}))
            elif task_name == "bucc2018":  # F1 2/3
                write_lines(gold, [f"{lang}-000001\ten-000001", f"{lang}-000002\ten-000002"])
                write_lines(pred, [f"{lang}-000001\ten-000001"])
            else:  # tatoeba: 50%
                write_lines(gold, ["0", "1"])
                write_lines(pred, ["0", "0"])


def test_scores_all_nine_tasks_like_the_official_scorer(tmp_path, catalog):
    _build(tmp_path, catalog)
    overall, detailed, missing = xtreme.evaluate(tmp_path / "predictions", tmp_path / "labels",
                                                 catalog)
    assert not missing
    assert list(detailed) == [t.name for t in catalog.targets()]
    assert detailed["xnli"]["accuracy"]["sw"] == 75 and detailed["xnli"]["avg_metric"] == 75
    assert detailed["panx"]["avg_metric"] == 100
    assert detailed["xquad"]["avg_exact_match"] == 0 and detailed["xquad"]["avg_f1"] == 50
    assert detailed["xquad"]["avg_metric"] == 25
    assert detailed["bucc2018"]["avg_metric"] == pytest.approx(200 / 3)
    assert overall["classification"] == 75 and overall["tagging"] == 100
    assert overall["qa"] == 25
    assert overall["retrieval"] == pytest.approx((200 / 3 + 50) / 2)
    assert overall["all_task"] == pytest.approx((75 * 2 + 100 * 2 + 25 * 3 + 200 / 3 + 50) / 9)


def test_a_missing_language_fails_unless_partial_and_partial_has_no_overall(tmp_path, catalog):
    _build(tmp_path, catalog)
    for kind in ("predictions", "labels"):
        (tmp_path / kind / "xnli" / "test-sw.tsv").unlink()
    with pytest.raises(DataError, match="missing test file for xnli language 'sw'"):
        xtreme.evaluate(tmp_path / "predictions", tmp_path / "labels", catalog)
    overall, detailed, missing = xtreme.evaluate(tmp_path / "predictions", tmp_path / "labels",
                                                 catalog, partial=True)
    assert missing == {"xnli": ["sw"]} and "sw" not in detailed["xnli"]["accuracy"]
    assert overall == {}  # an average over a partial submission is not XTREME's score
    from conftest import run_cli

    args = ["score", "--predictions", str(tmp_path / "predictions"), "--labels",
            str(tmp_path / "labels")]
    strict = run_cli(*args)
    assert strict.returncode == 2 and "xnli language 'sw'" in strict.stderr
    assert "Traceback" not in strict.stderr and strict.stderr.count("\n") == 1
    partial = run_cli(*args, "--partial")
    assert partial.returncode == 0 and "all_task" not in partial.stdout
    assert "no files for: sw" in partial.stdout


def test_tag_reader_keeps_a_last_sentence_without_blank_line(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("B-PER\nO\n\nO\nB-LOC")
    assert read_tags(path) == [["B-PER", "O"], ["O", "B-LOC"]]


@pytest.mark.parametrize("breakage, message", [
    (lambda r: (r / "predictions/xnli/test-de.tsv").write_text("a\n"), "has 1 examples"),
    (lambda r: (r / "labels/pawsx/test-de.tsv").unlink(), "missing file"),
    (lambda r: (r / "predictions/xquad/test-en.json").write_text("{oops"), "malformed JSON"),
    (lambda r: (r / "predictions/mlqa/test-en.json").write_text("[1]"), "must be"),
    (lambda r: (r / "predictions/panx/test-en.tsv").write_text("O\n\nNOUN\n"), "tags"),
])
def test_bad_folders_raise_one_line_errors(tmp_path, catalog, breakage, message):
    _build(tmp_path, catalog)
    breakage(tmp_path)
    with pytest.raises(DataError, match=message):
        xtreme.evaluate(tmp_path / "predictions", tmp_path / "labels", catalog)


def test_cli_score_json_and_bad_input(tmp_path, catalog):
    from conftest import run_cli

    _build(tmp_path, catalog)
    done = run_cli("score", "--predictions", str(tmp_path / "predictions"), "--labels",
                   str(tmp_path / "labels"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["overall_scores"]["qa"] == 25
    bad = run_cli("score", "--predictions", str(tmp_path / "nope"), "--labels", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_a_new_catalog_target_is_scored_without_python(tmp_path):
    """A target added to the catalog's YAML is read, grouped and scored by its fields."""
    import shutil

    import yaml

    from sweeper.catalog import load_catalog

    root = tmp_path / "catalog"
    shutil.copytree(Path(xtreme.__file__).resolve().parent.parent / "catalog", root)
    targets = root / "tasks" / "targets.yaml"
    raw = yaml.safe_load(targets.read_text())
    raw["tasks"].append({
        "name": "newnli", "role": "target", "type": "pair_classification",
        "metric": "accuracy", "category": "classification",
        "labels": ["entailment", "neutral", "contradiction"],
        "label_encoding": "name", "columns": {"text_a": "a", "text_b": "b", "label": "l"},
        "hub": None, "train_from": "mnli", "sample": {"skill": "nli"}, "selection": None,
        "license": "CC-BY-4.0",
        "languages": ["en", "sw"]})
    targets.write_text(yaml.safe_dump(raw))
    catalog = load_catalog(str(root))
    _build(tmp_path, catalog)  # newnli: 1 of 2 right in each language
    overall, detailed, _ = xtreme.evaluate(tmp_path / "predictions", tmp_path / "labels", catalog)
    assert detailed["newnli"]["accuracy"] == {"en": 50.0, "sw": 50.0}
    assert overall["classification"] == pytest.approx((75 + 75 + 50) / 3)
    assert "all_task" in overall  # every target of this catalog is present
