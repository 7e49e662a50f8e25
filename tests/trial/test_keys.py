"""Every setting, changed one at a time, against the stage-cache, baseline and feature keys.

The group of a setting says which keys it must move: `common` and `training` both trial
keys, `intermediate` the stage key only, `target` and `evaluation` the baseline key only,
`runtime` none. A new setting without an entry in CHANGES fails the walk.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sweeper.catalog import HubSpec
from sweeper.data.export import export
from sweeper.data.features import cache_key, tokenizer_fingerprint
from sweeper.data.sources import LocalSource, write_rows
from sweeper.model.encoders import load_encoder, model_identity
from sweeper.trial import keys
from sweeper.trial.environment import load_tokenizer
from sweeper.trial.run import derive_keys
from sweeper.trial.settings import SETTINGS, TINY_LR, TrialSettings

BASE = TrialSettings.build(targets=["xnli", "tatoeba", "xquad"], intermediate=["sst2", "squad_v2"],
                           model="tiny", data="sample", sampling="temperature",
                           eval_languages=["en", "de", "sw"])

# another valid value for every setting (None: filled in by a fixture, needs files)
CHANGES = {
    "model": None, "data": None, "local_data": None, "seed": 1,
    "intermediate": ["sst2"], "intermediate_epochs": 1.5, "max_passes": 2.0, "sampling": "uniform",
    "temperature": 3.0, "intermediate_steps": 50, "examples_cap": 100, "examples_total": 150,
    "lr": 1e-4, "batch_size": 16, "weight_decay": 0.0, "warmup_ratio": 0.2,
    "max_seq_len": 64, "max_train_examples": 100, "doc_stride": 64, "precision": "bf16",
    "targets": ["xnli", "tatoeba"], "target_epochs": 1.0, "target_batch_size": {"xnli": 16},
    "eval_languages": ["en", "sw"], "max_eval_examples": 50, "retrieval_layer": 2,
    "retrieval_pooling": "cls", "device": "cpu", "cache_dir": None, "threads": 1,
    "micro_batch": "4", "compile": True, "cuda_graphs": "on", "length_buckets": "64,128",
}
MOVES = {"common": {"intermediate", "baseline"}, "training": {"intermediate", "baseline"},
         "intermediate": {"intermediate"}, "target": {"baseline"},
         "evaluation": {"baseline"}, "runtime": set()}


def trial_keys(settings: TrialSettings, catalog) -> keys.TrialKeys:
    """The keys as a sweep derives them before a trial starts (run_trial's own)."""
    return derive_keys(settings, catalog)


@pytest.fixture(scope="module")
def changes(tmp_path_factory, catalog, cache_root) -> dict:
    """A saved copy of the tiny model (a local path) and a local data folder."""
    root = tmp_path_factory.mktemp("keys")
    tok = load_tokenizer("tiny", catalog, cache_root)
    model_dir = root / "model"
    load_encoder("tiny", tok, seed=0).save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    export(catalog, BASE.tasks + ["xnli", "mnli", "tatoeba", "xquad", "squad"],
           out=root / "data", source="sample", languages=["en", "de", "sw"],
           splits=["train", "validation", "test"])
    return {**CHANGES, "model": str(model_dir), "data": str(root / "data"),
            "local_data": {"sst2": str(root / "data"), "mnli": str(root / "data")},
            "cache_dir": str(root / "other-cache")}


def test_every_setting_has_a_change():
    assert set(CHANGES) == set(SETTINGS)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_setting_moves_exactly_the_keys_of_its_group(name, changes, catalog):
    before = trial_keys(BASE, catalog)
    changed = BASE.replace(**{name: changes[name]})
    assert changed.get(name) != BASE.get(name)
    after = trial_keys(changed, catalog)
    moved = {k for k in ("intermediate", "baseline") if getattr(before, k) != getattr(after, k)}
    assert moved == MOVES[SETTINGS[name].group], f"{name} moved {moved}"


def test_values_that_cannot_change_a_result_leave_the_keys_alone(catalog):
    base = trial_keys(BASE, catalog)
    same = [BASE.replace(lr=TINY_LR),  # the tiny model's default learning rate
            BASE.replace(target_epochs=None)]
    for settings in same:
        assert trial_keys(settings, catalog) == base
    proportional = BASE.replace(sampling="proportional")
    assert trial_keys(proportional.replace(temperature=5.0), catalog) == \
        trial_keys(proportional, catalog)  # temperature only matters when sampling by it
    low = [lang for lang in catalog.groups["low_resource"]] + ["en"]
    assert trial_keys(BASE.replace(eval_languages=["low_resource", "en"]), catalog).baseline == \
        trial_keys(BASE.replace(eval_languages=low), catalog).baseline
    # a max length the model cannot take runs at the model's: the same trial, the same keys
    assert trial_keys(BASE.replace(max_seq_len=1024), catalog) == \
        trial_keys(BASE.replace(max_seq_len=512), catalog)
    # a total split evenly is the per-task cap it amounts to (2 tasks: 100 each)
    assert trial_keys(BASE.replace(examples_total=200), catalog) == \
        trial_keys(BASE.replace(examples_cap=100), catalog)
    no_qa = BASE.replace(intermediate=["mnli"], targets=["xnli"])
    assert trial_keys(no_qa.replace(doc_stride=64), catalog) == trial_keys(no_qa, catalog)


CATALOG_CHANGES = {
    "max_length": lambda t: 128, "labels": lambda t: t.labels + ("extra",),
    "label_encoding": lambda t: "name" if t.label_encoding == "index" else "index",
    "hub": lambda t: (HubSpec(id="other/repo", config=None, splits={"train": ("train",)}),),
    "columns": lambda t: {k: f"{v}_renamed" for k, v in t.columns.items()},
    "epochs": lambda t: 7.0,
}


@pytest.mark.parametrize("field", list(CATALOG_CHANGES))
def test_catalog_fields_of_a_task_enter_the_keys_that_use_it(field, catalog):
    """sst2 is only an intermediate task here, xnli only a target."""
    before = trial_keys(BASE, catalog)
    for task, moved in (("sst2", "intermediate"), ("xnli", "baseline")):
        spec = catalog.task(task)
        spec = dataclasses.replace(spec, **{field: CATALOG_CHANGES[field](spec)})
        edited = dataclasses.replace(catalog, tasks={**catalog.tasks, task: spec})
        after = trial_keys(BASE, edited)
        assert getattr(after, moved) != getattr(before, moved), (task, field)
        other = "baseline" if moved == "intermediate" else "intermediate"
        assert getattr(after, other) == getattr(before, other), (task, field)


def test_model_identity_follows_content_not_name(tmp_path, changes):
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in Path(changes["model"]).iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert model_identity(str(copy)) == model_identity(changes["model"])
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))  # one bit of one weight, same name and size
    assert model_identity(str(copy)) != model_identity(changes["model"])
    assert model_identity("tiny").startswith("tiny:v")


def test_local_data_version_is_per_task(tmp_path, catalog):
    mnli, qqp = catalog.task("mnli"), catalog.task("qqp")
    for task in ("mnli", "qqp"):
        write_rows([{"x": 1}], tmp_path / task / "en" / "train.parquet")
    before = {t.name: LocalSource(tmp_path).version(t) for t in (mnli, qqp)}
    write_rows([{"x": 2}, {"x": 3}], tmp_path / "qqp" / "en" / "train.parquet")
    after = {t.name: LocalSource(tmp_path).version(t) for t in (mnli, qqp)}
    assert before["mnli"] == after["mnli"] and before["qqp"] != after["qqp"]


def test_feature_key_covers_entry_language_split_data_tokenizer_and_length(catalog):
    qa = catalog.task("squad_v2")
    base = dict(data_version="v1", tokenizer="t1", max_length=64, doc_stride=32)
    key = cache_key(qa, "en", "train", **base)
    for change in ({"data_version": "v2"}, {"tokenizer": "t2"}, {"max_length": 65},
                   {"doc_stride": 16}):
        assert cache_key(qa, "en", "train", **{**base, **change}) != key, change
    assert cache_key(qa, "de", "train", **base) != key
    assert cache_key(qa, "en", "validation", **base) != key
    for change in ({"columns": {**qa.columns, "context": "passage"}},
                   {"hub": (HubSpec(id="x/y", splits={"train": ("train",)}),)},
                   {"null_answers": not qa.null_answers}):
        assert cache_key(dataclasses.replace(qa, **change), "en", "train", **base) != key
    # fields that decide how a task is trained, not its rows, leave the features alone
    as_target = dataclasses.replace(qa, epochs=9.0, role="both", category="qa", train_from="en")
    assert cache_key(as_target, "en", "train", **base) == key
    nli = catalog.task("mnli")
    nli_key = cache_key(nli, "en", "train", **base)
    assert cache_key(nli, "en", "train", **{**base, "doc_stride": 16}) == nli_key
    assert cache_key(dataclasses.replace(nli, label_encoding="name"), "en", "train",
                     **base) != nli_key


def test_tokenizer_fingerprint_is_its_content(catalog, cache_root, tmp_path):
    tok = load_tokenizer("tiny", catalog, cache_root)
    tok.save_pretrained(str(tmp_path / "tok"))
    from transformers import AutoTokenizer

    copy = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert tokenizer_fingerprint(copy) == tokenizer_fingerprint(tok)
