"""Contract tests over EVERY catalog task and language."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

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


def test_a_non_english_pool_large_enough_for_the_question(catalog):
    """At least 20 labelled non-English tasks in at least 12 languages, 6 of them below
    high resource, across task types and skills; each with its dataset card."""
    non_en = [t for t in catalog.intermediates() if not t.is_english and t.type != "mlm"]
    langs = {lang for t in non_en for lang in t.languages}
    assert len(non_en) >= 20 and len(langs) >= 12
    assert len({lang for lang in langs if catalog.tier(lang) != "high"}) >= 6
    assert {"pair_classification", "classification", "qa", "token_classification",
            "multiple_choice"} <= {t.type for t in non_en}
    assert {"nli", "paraphrase", "topic", "sentiment", "qa", "ner", "choice"} <= {
        t.sample["skill"] for t in non_en}
    assert all(t.card and t.card.startswith("https://huggingface.co/datasets/") for t in non_en
               if t.hub)


def test_task_scaling_can_draw_sixteen_zero_shot_non_english_tasks(catalog):
    from sweeper.space.spec import load_spec

    spec = load_spec(str(ROOT / "search_spaces" / "task_scaling.yaml"), catalog)
    pool = spec.pool["non_english"]
    assert len(pool) >= 16 and 16 in spec.counts["non_english"]
    assert not [t for t in pool if catalog.task(t).breaks_zero_shot(spec.targets)]
    assert len({catalog.task(t).languages[0] for t in pool}) >= 12


def test_translated_tasks_name_what_they_translate(catalog):
    from sweeper.space.spec import parse_spec

    translated = {t.name: t.translation_of for t in catalog.tasks.values() if t.is_translated}
    assert translated["xnli_sw"] == "mnli" and translated["mlqa_tt_de"] == "squad"
    assert translated["kor_hellaswag"] == "hellaswag"
    assert {"klue_nli", "masakhaner_ha", "germanquad"}.isdisjoint(translated)  # native
    spec = parse_spec({"model": "tiny", "targets": ["panx"],
                       "intermediate": {"pool": ["translated"], "counts": [1],
                                        "allow_protocol_breaking": True}}, catalog, "t")
    assert set(spec.pool["mixed"]) == set(translated)


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
    # a licence from its card: an SPDX id, "unknown", or "custom: <what>"
    assert task.license == "unknown" or task.license.startswith("custom: ") or (
        " " not in task.license and task.license[0].isalnum())
    if task.is_target:
        assert task.category and (task.eval_split in task.splits())
        if task.needs_training:
            source, lang = catalog.train_task(task)
            assert lang in source.languages


def test_tiers_follow_the_token_table(catalog):
    """Tiers come from CC-100 token counts (thresholds beside the table); languages
    written without spaces between words are counted from their bytes; languages outside
    CC-100 are lowest; every target keeps two low-tier languages where it has them."""
    import yaml

    from sweeper.catalog import HERE

    raw = yaml.safe_load((HERE / "languages.yaml").read_text())
    low, mid = raw["tiers"]["low"], raw["tiers"]["mid"]
    langs = catalog.languages
    for lang in langs.values():
        expected = "low" if lang.tokens < low else "mid" if lang.tokens < mid else "high"
        assert lang.tier == expected, lang
    assert langs["en"].tier == "high" and langs["sw"].tier == "low"
    for code in ("yo", "ig", "zu", "rw"):  # outside CC-100
        assert langs[code].tokens == 0 and langs[code].tier == "low"
    for code, v in raw["languages"].items():
        if v.get("segmented", True):
            assert langs[code].tokens == v["tokens"]
    assert langs["zh"].tier == langs["ja"].tier == "high"  # not undercounted by whitespace
    assert langs["th"].tokens > raw["languages"]["th"]["tokens"]
    for target in catalog.targets():
        lows = [lang for lang in target.languages if langs[lang].tier == "low"]
        # pawsx, xquad, mlqa and bucc2018 list no language under the low threshold
        assert len(lows) >= 2 or target.name in ("pawsx", "xquad", "mlqa", "bucc2018"), \
            (target.name, lows)
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
    text = path.read_text().replace("    colour: blue\n", "", 1)
    path.write_text(text.replace("license: \"CC-BY-NC-4.0\"", "license: CC BY NC", 1))
    with pytest.raises(ConfigError, match="license 'CC BY NC' is not an SPDX id"):
        load_catalog(str(root))
    path.write_text("tasks: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalog(str(root))
