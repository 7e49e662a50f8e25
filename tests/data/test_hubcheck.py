"""The offline hub contract: every catalog entry against a mirror of its hub repo.

The mirrors (tests/hubrepos.py, described in tests/hub/repos.yaml from the dataset
cards) are read through the same `datasets.load_dataset` call real runs make, with the
hub id mapped to the mirror's folder; `sweeper data check`'s resolution runs over them
too. Only the hub's address is replaced: configs, splits, columns, dtypes and label
names are the cards'.
"""

from __future__ import annotations

import pytest
import yaml
from hubrepos import PARQUET_REVISION, REPOS, build, expand

from sweeper.catalog import load_catalog
from sweeper.data.hubcheck import check_tasks, configs_needed
from sweeper.data.normalize import normalize
from sweeper.data.sources import HubSource
from sweeper.errors import DataError

HUB_TASKS = sorted(t.name for t in load_catalog().tasks.values() if t.hub)


@pytest.fixture(scope="module")
def resolve(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hub"))


def _languages(task) -> list[str]:
    """Languages whose configs are loaded in full: the first, the last and a low-resource
    one (data check resolves every language's config)."""
    catalog = load_catalog()
    low = [lang for lang in task.languages if catalog.tier(lang) == "low"]
    return list(dict.fromkeys([task.languages[0], *low[:1], task.languages[-1]]))


@pytest.mark.slow
@pytest.mark.parametrize("name", HUB_TASKS)
def test_every_entry_loads_from_its_mirror(resolve, name):
    catalog = load_catalog()
    task = catalog.task(name)
    source = HubSource(catalog, resolve=resolve)
    for lang in _languages(task):
        for split in sorted(catalog.splits_read(task, lang)):
            raw = source.load(task, lang, split)
            rows = normalize(task, raw)
            assert len(rows) > 0, (name, lang, split)
            if "label" in rows.column_names:  # every label of the card maps to the catalog's
                assert len(rows) == len(raw), (name, lang, split)


@pytest.mark.slow
def test_data_check_resolves_every_entry(resolve):
    """Every entry in the languages loaded above (test_mirrors_cover_every_hub_entry
    holds every language's config to a mirror)."""
    catalog = load_catalog()
    rows = [row for name in HUB_TASKS
            for row in check_tasks([catalog.task(name)], catalog, resolve=resolve,
                                   languages=_languages(catalog.task(name)))]
    problems = [f"{r['task']} {r['id']} [{r['config']}]: {r['problems']}" for r in rows
                if r["problems"]]
    assert not problems, "\n".join(problems)
    assert {r["task"] for r in rows} == set(HUB_TASKS)
    assert all(r["splits"] and r["columns"] for r in rows)


def test_data_check_names_what_is_missing(resolve):
    """A catalog entry that drifted from its card: the check says what, per entry."""
    import dataclasses

    catalog = load_catalog()
    mnli = catalog.task("mnli")
    drifted = dataclasses.replace(
        mnli, columns={**mnli.columns, "text_b": "hypothesis_text"},
        labels=("contradiction", "neutral", "entailment"),
        hub=(dataclasses.replace(mnli.hub[0], splits={"train": ("training",)}),))
    row, = check_tasks([drifted], catalog, resolve=resolve)
    assert row["problems"], row
    text = " | ".join(row["problems"])
    assert "missing split(s) ['training']" in text
    assert "missing column(s) ['hypothesis_text']" in text
    assert "label names of 'label'" in text
    gone = dataclasses.replace(mnli, hub=(dataclasses.replace(mnli.hub[0], config="mnli_v9"),))
    row, = check_tasks([gone], catalog, resolve=resolve)
    assert row["problems"] and "mnli_v9" in row["problems"][0]


def test_script_only_repos_need_their_parquet_revision(resolve):
    """A repo whose main branch holds only a loading script is refused by `datasets`; the
    catalog reads it from the parquet conversion, and its data version names it."""
    catalog = load_catalog()
    scripted = {r["id"] for r in yaml.safe_load(REPOS.read_text())["repos"] if r.get("script")}
    assert {"Rowan/hellaswag", "facebook/mlqa"} <= scripted
    entries = [(t, src) for t in catalog.tasks.values() for src in t.hub if src.id in scripted]
    assert entries
    for task, src in entries:
        assert src.revision == PARQUET_REVISION, task.name
    hellaswag = catalog.task("hellaswag")
    source = HubSource(catalog, resolve=resolve)
    assert len(source.load(hellaswag, "en", "train")) > 0
    main = HubSource(catalog, revision=None, resolve=lambda repo, rev: resolve(repo, None))
    import dataclasses

    on_main = dataclasses.replace(hellaswag, hub=(dataclasses.replace(hellaswag.hub[0],
                                                                      revision=None),))
    with pytest.raises(DataError, match="Dataset scripts are no longer supported"):
        main.load(on_main, "en", "train")
    assert f"Rowan/hellaswag@{PARQUET_REVISION}" in source.version(hellaswag)


def test_mirrors_cover_every_hub_entry():
    """Each (repo, config) the catalog reads has a mirror: a new entry needs its card. No
    config in the catalog means the repo's only one."""
    catalog = load_catalog()
    repos = {r["id"]: expand(r["configs"]) for r in yaml.safe_load(REPOS.read_text())["repos"]}
    mirrored = {(repo, c) for repo, configs in repos.items() for c in configs}
    mirrored |= {(repo, None) for repo, configs in repos.items() if len(configs) == 1}
    missing = sorted({(src.id, c) for t in catalog.tasks.values() for src in t.hub
                      for c in configs_needed(t, src, catalog, None)} - mirrored)
    assert not missing, missing
