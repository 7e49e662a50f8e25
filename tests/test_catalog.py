"""Contract tests over EVERY catalog task and language."""

from __future__ import annotations

import shutil

import pytest

from sweeper.catalog import load_catalog
from sweeper.data.sources import template_vars
from sweeper.errors import ConfigError

XTREME = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
XSTILTS = ["mnli", "anli", "qqp", "sst2", "squad_v2", "hellaswag", "cosmosqa", "commonsenseqa",
           "ccg"]


def test_xtreme_targets_and_xstilts_tasks_present(catalog):
    assert all(catalog.task(t).is_target for t in XTREME)
    assert all(catalog.task(t).is_intermediate and catalog.task(t).is_english for t in XSTILTS)
    assert catalog.task("ccg").hub == ()  # local files only
    assert len(catalog.task("anli").hub) == 3  # SNLI + MNLI + ANLI under one head


def test_non_english_intermediates_cover_languages_and_types(catalog):
    non_en = [t for t in catalog.intermediates() if not t.is_english]
    assert len(non_en) >= 8
    assert len({t.languages[0] for t in non_en}) >= 5
    assert {"pair_classification", "qa", "token_classification", "multiple_choice"} <= {
        t.type for t in non_en}


def test_protocol_marks(catalog):
    assert catalog.task("xnli_de").breaks_zero_shot(["xnli", "pawsx", "udpos"]) == ["xnli",
                                                                                     "pawsx"]
    assert catalog.task("xnli_de").protocol_kind("xnli") == "translate_train"
    assert catalog.task("xnli_de").protocol_kind("pawsx") == "in_language"
    assert catalog.task("tydiqa_sw").protocol_kind("tydiqa") == "in_language"
    assert catalog.task("klue_nli").breaks_zero_shot(["xnli"]) == []
    assert catalog.task("masakhaner_yo").protocol_kind("panx") == "in_language"


@pytest.mark.parametrize("name", sorted(t.name for t in load_catalog().intermediates()
                                        if not t.is_english))
def test_no_unmarked_leak_into_a_target(catalog, name):
    """A non-English task sharing a type and a language with a target must say how it
    breaks zero-shot for that target."""
    task = catalog.task(name)
    for target in catalog.targets():
        shared = set(task.languages) & set(target.languages) - {"en"}
        if target.type == task.type and shared:
            assert task.protocol_kind(target.name), (
                f"{name} shares {task.type} and {sorted(shared)} with {target.name} "
                "but carries no protocol mark for it")


@pytest.mark.parametrize("name", sorted(load_catalog().tasks))
def test_every_task_is_complete(catalog, name):
    task = catalog.task(name)
    assert task.languages and all(lang in catalog.languages for lang in task.languages)
    for lang in task.languages:  # every hub template resolves for every language
        for src in task.hub:
            if src.config:
                src.config.format(**template_vars(catalog, lang))
            for value in src.filter.values():
                value.format(**template_vars(catalog, lang))
            if src.id_prefix:
                assert src.id_prefix.format(**template_vars(catalog, lang)).endswith("-")
    if task.is_target:
        assert task.category and (task.eval_split in task.splits())
        if task.needs_training:
            source, lang = catalog.train_task(task)
            assert lang in source.languages


def test_tiers_follow_the_size_table(catalog):
    langs = catalog.languages
    assert langs["en"].tier == "high" and langs["sw"].tier == "low" and langs["yo"].tier == "low"
    assert langs["ar"].tier == "mid"
    for lang in langs.values():
        expected = "low" if lang.size < 5 else "mid" if lang.size < 50 else "high"
        assert lang.tier == expected
    assert set(catalog.groups["low_resource"]) == {c for c, v in langs.items() if v.tier == "low"}
    assert "CC-100" in catalog.size_source
    assert catalog.expand_languages(["low_resource", "en"])[-1] == "en"
    with pytest.raises(ConfigError, match="unknown language"):
        catalog.expand_languages(["klingon"])


def test_malformed_catalog_is_rejected(tmp_path):
    from sweeper import catalog as catalog_module

    root = tmp_path / "catalog"
    shutil.copytree(catalog_module.HERE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = root / "tasks" / "targets.yaml"
    path.write_text(path.read_text().replace("    metric: accuracy\n", "    metric: accuracy\n"
                                             "    colour: blue\n", 1))
    with pytest.raises(ConfigError, match="unknown field.*colour"):
        load_catalog(str(root))
    path.write_text("tasks: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalog(str(root))
