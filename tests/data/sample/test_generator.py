"""The synthetic sample generator: every task, every language, exact hub schema, graded."""

from __future__ import annotations

import datasets
import pytest

from sweeper.catalog import load_catalog
from sweeper.data.features import label_names
from sweeper.data.normalize import normalize
from sweeper.data.sample import generator as sample
from sweeper.data.sample import world


def _split(task) -> str:
    return task.eval_split if task.is_target else "train"


def _hub_columns(task) -> set[str]:
    cols = set()
    for value in task.columns.values():
        for col in value if isinstance(value, list) else [value]:
            cols.add(col.split(".")[0])
    return cols


@pytest.mark.parametrize("name", sorted(load_catalog().tasks))
def test_every_task_and_language_generates_in_hub_schema(catalog, name):
    task = catalog.task(name)
    for lang in task.languages:
        rows = sample.generate(task, lang, _split(task), catalog.tier(lang))
        assert rows, (name, lang)
        assert _hub_columns(task) <= set(rows[0]), (name, lang, rows[0].keys())
        for col, template in (task.hub[0].filter.items() if task.hub else []):
            assert {r[col] for r in rows} == {template.format(lang=lang)}
        canon = normalize(task, datasets.Dataset.from_list(rows), _names(task, rows))
        assert len(canon) == len(rows)  # every generated label is a valid one
        if "label" in canon.column_names:
            assert set(canon["label"]) <= set(range(task.num_labels))
            assert len(set(canon["label"])) == task.num_labels  # all classes occur


def _names(task, rows) -> list[str]:
    if task.labels or "tags" not in task.columns:
        return list(task.labels)
    return sorted({t for r in rows for t in r[task.columns["tags"]]})


def test_generation_is_deterministic(catalog):
    task = catalog.task("xnli")
    assert sample.generate(task, "sw", "test", "low") == sample.generate(task, "sw", "test", "low")
    assert sample.generate(task, "sw", "test", "low") != sample.generate(task, "de", "test", "high")


def test_shared_vocabulary_falls_with_tier(catalog):
    english = set(world.lexicon("en", "high"))
    shares = {}
    for tier, lang in (("high", "de"), ("mid", "ar"), ("low", "sw")):
        words = world.lexicon(lang, catalog.tier(lang))
        shares[tier] = sum(w in english for w in words) / len(words)
    assert shares["high"] > shares["mid"] > shares["low"] > 0.1


def test_target_training_data_sees_only_half_the_cues(catalog):
    seen = world.seen_cues("mnli")
    cues = {c.id for c in world.by_role("valence")}
    assert 0.3 < len(seen & cues) / len(cues) < 0.7
    rows = sample.generate(catalog.task("mnli"), "en", "train", "high", restrict_cues=True)
    lex = world.lexicon("en", "high")
    unseen_words = {lex[i] for i in cues - seen}
    assert not any(set(r["hypothesis"].split()) & unseen_words for r in rows)


def test_tydiqa_ids_carry_language_prefix(catalog):
    task = catalog.task("tydiqa")
    rows = sample.generate(task, "sw", "validation", "low", id_prefix="swahili-")
    assert all(r["id"].startswith("swahili-") for r in rows)


def test_ccg_labels_come_from_the_data(catalog, cache_root):
    from sweeper.data.sources import SampleSource

    names = label_names(catalog.task("ccg"), SampleSource(catalog, cache_root))
    assert len(names) == world.N_SUPERTAGS and names == sorted(names)
