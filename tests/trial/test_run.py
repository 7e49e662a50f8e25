"""Whole trials end to end on the synthetic sample data with the tiny model."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from conftest import run_cli

from sweeper.trial.reading import settings_from_dict
from sweeper.trial.run import run_trial
from sweeper.trial.settings import TrialSettings

pytestmark = pytest.mark.slow


def _scored(out):
    done = run_cli("score", "--predictions", str(out / "xtreme" / "predictions"), "--labels",
                   str(out / "xtreme" / "labels"), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_classification_and_retrieval_trial_from_the_cli(tmp_path, catalog):
    out = tmp_path / "trial"
    done = run_cli("trial", "--target", "xnli,tatoeba", "--intermediate", "mnli,qqp",
                   "--data", "sample", "--model", "tiny", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SYNTHETIC" in done.stdout and "tatoeba (zero_shot)" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["synthetic"] is True and metrics["protocol"] == {"xnli": "zero_shot",
                                                                    "tatoeba": "zero_shot"}
    assert metrics["device"]["type"] == "cpu" and metrics["device"]["torch"]  # computed on
    test = metrics["test"]
    for task in ("xnli", "tatoeba"):  # a metric for every language of the target
        assert set(test["zero_shot"][task]) == set(catalog.task(task).languages)
    assert set(metrics["dev"]["zero_shot"]["xnli"]) == set(catalog.task("xnli").languages)
    assert "tatoeba" not in metrics["dev"]["zero_shot"]  # no selection split
    xnli = test["zero_shot"]["xnli"]
    assert xnli["en"]["accuracy"] > 55  # chance is 33.3
    tiers = test["summary"]["xnli"]["tiers"]
    assert tiers["high"] > tiers["low"]  # transfer falls with the resource tier
    assert metrics["training"]["intermediate"]["history"][-1]["loss"] < 1.0
    # the XTREME export scores back to exactly the reported numbers
    assert _scored(out)["detailed_scores"] == test["xtreme"]["detailed_scores"]
    settings = settings_from_dict(yaml.safe_load((out / "trial_config.yaml").read_text()))
    assert settings.tasks == ["mnli", "qqp"] and settings.model == "tiny"


def test_restarted_trial_skips_finished_stages(tmp_path, catalog):
    config = TrialSettings.build(targets=["xnli"], intermediate=["sst2"], model="tiny",
                                 eval_languages=["en", "sw"], max_train_examples=300)
    first = run_trial(config, tmp_path)
    tick = time.perf_counter()
    again = run_trial(config, tmp_path)
    assert time.perf_counter() - tick < 0.5 * first["timings"]["total_s"]
    assert again["test"] == first["test"] and again["dev"] == first["dev"]
    changed = run_trial(config.replace(seed=1), tmp_path)
    assert changed["training"]["xnli"]["history"]  # other settings: trained again


def test_tagging_and_qa_trial(tmp_path, catalog):
    config = TrialSettings.build(targets=["panx", "xquad", "tydiqa"],
                                 intermediate=["squad_v2", "hellaswag", "ccg", "mlm_sw"],
                                 model="tiny", max_train_examples=400)
    result = run_trial(config, tmp_path)
    zs = result["test"]["zero_shot"]
    for task in config.targets:
        assert set(zs[task]) == set(catalog.task(task).languages)
    assert zs["panx"]["en"]["f1"] > 25 and zs["xquad"]["en"]["f1"] > 30
    assert _scored(tmp_path)["detailed_scores"] == result["test"]["xtreme"]["detailed_scores"]
    # one tag line per word, a blank line per sentence, aligned with the labels file
    pred = (tmp_path / "xtreme/predictions/panx/test-sw.tsv").read_text().split("\n")
    gold = (tmp_path / "xtreme/labels/panx/test-sw.tsv").read_text().split("\n")
    assert [bool(x) for x in pred] == [bool(x) for x in gold]
    answers = json.loads((tmp_path / "xtreme/predictions/tydiqa/test-sw.json").read_text())
    assert all(k.startswith("swahili-") for k in answers)


def test_selection_sees_dev_and_reports_test(tmp_path, catalog):
    """On local data whose TEST labels are then scrambled, the dev numbers and the sweep's
    objective do not move; the reported test numbers do."""
    import pyarrow.parquet as pq

    from sweeper.data.export import export
    from sweeper.space.objective import objective

    data = tmp_path / "data"
    export(catalog, ["xnli", "mnli"], out=data, source="sample", languages=["en", "sw"],
           splits=["train", "validation", "test"])
    settings = TrialSettings.build(targets=["xnli"], intermediate=[], model="tiny",
                                   data=str(data), max_train_examples=500, target_epochs=3,
                                   eval_languages=["en", "sw"], max_eval_examples=100)
    clean = run_trial(settings, tmp_path / "clean")
    for lang in ("en", "sw"):  # every test label becomes the next class
        path = data / "xnli" / lang / "test.parquet"
        table = pq.read_table(path).to_pydict()
        names = catalog.task("xnli").labels
        table["gold_label"] = [names[(names.index(g) + 1) % 3] for g in table["gold_label"]]
        import pyarrow as pa

        pq.write_table(pa.table(table), path)
    scrambled = run_trial(settings, tmp_path / "scrambled")
    langs = catalog.expand_languages(["all"])
    assert scrambled["dev"]["xtreme"] == clean["dev"]["xtreme"]
    assert objective(scrambled, langs) == objective(clean, langs)
    clean_test = clean["test"]["summary"]["xnli"]["avg_metric"]
    assert scrambled["test"]["summary"]["xnli"]["avg_metric"] < clean_test - 10
    assert clean_test > 40  # above chance (33%): a model that learnt, so scrambling shows


def test_max_eval_examples_counts_examples_not_windows(tmp_path, catalog, cache_root):
    """Short windows split every context in several: the cap keeps N questions, each
    answered from all of its windows (none scored as an empty prediction for lack of
    windows)."""
    settings = TrialSettings.build(targets=["xquad", "panx"], model="tiny",
                                   eval_languages=["en"], max_seq_len=48, doc_stride=16,
                                   max_train_examples=60, target_epochs=1,
                                   max_eval_examples=7)
    run_trial(settings, tmp_path)
    for kind in ("test", "dev"):
        labels = json.loads((tmp_path / f"xtreme/labels/xquad/{kind}-en.json").read_text())
        preds = json.loads((tmp_path / f"xtreme/predictions/xquad/{kind}-en.json").read_text())
        questions = [qa["id"] for art in labels["data"] for p in art["paragraphs"]
                     for qa in p["qas"]]
        assert len(questions) == 7 and set(preds) == set(questions)
    from sweeper.data.features import load_examples, load_features
    from sweeper.data.sources import make_source
    from sweeper.trial.environment import load_tokenizer

    source = make_source("sample", catalog, cache_root)
    feats = load_features(catalog.task("xquad"), "en", "validation", source=source,
                          tokenizer=load_tokenizer("tiny", catalog, cache_root),
                          max_length=48, cache_root=cache_root, doc_stride=16)
    first = set(load_examples(catalog.task("xquad"), "en", "validation", source)["id"][:7])
    assert sum(e in first for e in feats["example_id"]) > 7  # several windows per question
    gold = (tmp_path / "xtreme/labels/panx/test-en.tsv").read_text().strip().split("\n\n")
    assert len(gold) == 7  # seven sentences, every word of each
