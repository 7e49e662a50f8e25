"""Data sources: the hub code path on a hub-style folder, local directories, a task from
its own folder beside another source."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sweeper.data.sample import generator as sample
from sweeper.data.sources import HubSource, write_rows
from sweeper.errors import DataError


def _hub_repo(root: Path, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """A folder laid out like a hub dataset repo: parquet files + README `configs:`."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        for split, rows in splits.items():
            rel = f"{name}/{split}-00000-of-00001.parquet"
            (root / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows), root / rel)
            lines += [f"  - split: {split}", f"    path: {rel}"]
    (root / "README.md").write_text("\n".join(lines + ["---", "A test repo.", ""]))
    return root


def _pointing_at(task, repo: Path):
    return dataclasses.replace(task, hub=tuple(dataclasses.replace(h, id=str(repo))
                                               for h in task.hub))


def test_hub_path_filters_languages_of_one_config(tmp_path, catalog):
    xnli = catalog.task("xnli")
    rows = {lang: sample.generate(xnli, lang, "test", catalog.tier(lang)) for lang in ("en", "sw")}
    repo = _hub_repo(tmp_path / "xtreme", {"XNLI": {"test": rows["en"] + rows["sw"]}})
    ds = HubSource(catalog).load(_pointing_at(xnli, repo), "sw", "test")
    assert ds.to_list() == rows["sw"]


def test_hub_path_templates_configs_per_language(tmp_path, catalog):
    pawsx = catalog.task("pawsx")
    de = sample.generate(pawsx, "de", "test", "high")
    repo = _hub_repo(tmp_path / "xtreme", {"PAWS-X.de": {"test": de}})
    assert HubSource(catalog).load(_pointing_at(pawsx, repo), "de", "test").to_list() == de


def test_tydiqa_trains_on_english_ids_only(tmp_path, catalog):
    tydiqa = catalog.task("tydiqa")
    en = sample.generate(tydiqa, "en", "train", "high", id_prefix="english-")
    sw = sample.generate(tydiqa, "sw", "train", "low", id_prefix="swahili-")
    repo = _hub_repo(tmp_path / "xtreme", {"tydiqa": {"train": sw[:50] + en + sw[50:]}})
    ds = HubSource(catalog).load(_pointing_at(tydiqa, repo), "en", "train")
    assert len(ds) == len(en) and all(i.startswith("english-") for i in ds["id"])


def test_several_sources_under_one_head(tmp_path, catalog):
    anli = catalog.task("anli")
    rows = sample.generate(anli, "en", "train", "high")
    repos = []
    for i, src in enumerate(anli.hub):
        splits = {s: rows[j * 10:(j + 1) * 10] for j, s in enumerate(src.splits["train"])}
        config = src.config or "default"
        repo = _hub_repo(tmp_path / f"r{i}", {config: splits})
        repos.append(dataclasses.replace(src, id=str(repo), config=config))
    task = dataclasses.replace(anli, hub=tuple(repos))
    assert len(HubSource(catalog).load(task, "en", "train")) == 10 * (1 + 1 + 3)


def test_unreachable_hub_is_one_line(catalog):
    with pytest.raises(DataError, match="cannot load nyu-mll/glue.*offline"):
        HubSource(catalog).load(catalog.task("mnli"), "en", "train")
    with pytest.raises(DataError, match="not on the hub"):
        HubSource(catalog).load(catalog.task("ccg"), "en", "train")
    with pytest.raises(DataError, match="no 'test' split"):
        HubSource(catalog).load(catalog.task("mnli"), "en", "test")


def test_mlm_tasks_read_running_text_and_stay_out_of_the_labelled_pools(catalog):
    from sweeper.space.spec import parse_spec

    mlm = [t for t in catalog.intermediates() if t.type == "mlm"]
    assert len(mlm) >= 6 and {"sw", "yo"} <= {t.languages[0] for t in mlm}
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"pool": ["non_english", "mlm"],
                                        "language_mix": ["non_english"], "counts": [1]}},
                      catalog, "t")
    assert {t.name for t in mlm} <= set(spec.pool["non_english"])
    only = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "intermediate": {"pool": ["non_english"], "counts": [1]}}, catalog, "t")
    assert not [t for t in only.pool["mixed"] if catalog.task(t).type == "mlm"]


def test_per_task_local_folders_beside_another_source(tmp_path, catalog, cache_root):
    """`local_data={ccg: DIR}` (a space's `local: {ccg: DIR}`): that task from the folder,
    every other from the source; versions follow where each task is read from."""
    from sweeper.data.sources import MixedSource, make_source
    from sweeper.runner.preflight import check_data
    from sweeper.space.spec import parse_spec

    ccg = catalog.task("ccg")
    rows = sample.generate(ccg, "en", "train", "high")[:20]
    for split in ("train", "validation"):
        write_rows(rows, tmp_path / "ccg" / "en" / f"{split}.parquet")
    source = make_source("sample", catalog, cache_root, {"ccg": str(tmp_path)})
    assert isinstance(source, MixedSource)
    assert source.load(ccg, "en", "train").to_list() == rows
    assert source.version(ccg).startswith("local:")
    assert source.version(catalog.task("mnli")).startswith("sample:")
    raw = {"model": "tiny", "data": "hub", "targets": ["tatoeba"], "local": {"ccg": str(tmp_path)},
           "intermediate": {"sets": [["ccg"]]}, "search": {"algorithm": "grid"}}
    spec = parse_spec(raw, catalog, "t")
    assert spec.base_settings().common.local_data == {"ccg": str(tmp_path)}
    check_data(spec, catalog)  # ccg from the folder; tatoeba is on the hub
    (tmp_path / "ccg" / "en" / "train.parquet").unlink()
    with pytest.raises(DataError, match="missing split.*ccg/en/train"):
        check_data(spec, catalog)
