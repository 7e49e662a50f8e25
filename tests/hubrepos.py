"""Offline mirrors of the hub repos the catalog reads, built from `tests/hub/repos.yaml`.

That file describes each repo as its dataset card does (config names, split names,
column names and dtypes, class-label names in order), written from the cards and never
from the catalog, so that a test reading the mirrors through the catalog checks the
catalog against the cards. `build(root)` writes, per repo:

- a folder laid out like the hub repo: a README whose YAML header lists `configs:` (with
  their `data_files`) and `dataset_info:` (features), parquet files in the card's schema;
- for a repo whose main branch holds only a loading script (`script:`), that script at
  the top (which `datasets` refuses, as the hub does) and, beside it, its parquet
  conversion as the hub's `refs/convert/parquet` revision lays it out:
  ``<config>/<split>/0000.parquet``.

It returns the resolver that `HubSource(resolve=...)` and `data check` take: hub id and
revision -> the folder mirroring that repo at that revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import datasets
import yaml

from sweeper.data.sources import PARQUET_REVISION

REPOS = Path(__file__).parent / "hub" / "repos.yaml"
ROWS = 6  # rows per split at least (more where a column cycles through more values)


def feature(spec: Any) -> Any:
    """The repos.yaml notation -> a `datasets` feature."""
    if isinstance(spec, str):
        return datasets.Value(spec)
    (kind, value), = spec.items()
    if kind == "class_label":
        return datasets.ClassLabel(names=[str(v) for v in value])
    if kind == "sequence":
        return datasets.Sequence(feature(value))
    if kind == "struct":
        return {k: feature(v) for k, v in value.items()}
    raise ValueError(f"unknown feature notation {spec!r}")


def _value(feat: Any, i: int) -> Any:
    if isinstance(feat, dict):
        return {k: _value(f, i) for k, f in feat.items()}
    if isinstance(feat, datasets.Sequence):
        return [_value(feat.feature, i + k) for k in range(3)]
    if isinstance(feat, datasets.ClassLabel):
        return i % feat.num_classes
    if feat.dtype == "string":
        return f"w{i} alpha beta gamma"
    if feat.dtype == "bool":
        return bool(i % 2)
    return i


def rows(features: datasets.Features, hints: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows in the card's schema. A hint fixes a column: `{example: V}` the same value in
    every row, `{cycle: [...]}` the values in turn (`{cycle: [...], numbered: true}`
    adds the row number, for unique ids)."""
    longest = max([len(h["cycle"]) for h in hints.values() if "cycle" in h] + [ROWS // 2])
    out = []
    for i in range(2 * longest):
        row = {}
        for name, feat in features.items():
            hint = hints.get(name, {})
            if "example" in hint:
                row[name] = hint["example"]
            elif "cycle" in hint:
                value = hint["cycle"][i % len(hint["cycle"])]
                row[name] = f"{value}{i}" if hint.get("numbered") else value
            else:
                row[name] = _value(feat, i)
        out.append(row)
    return out


def expand(configs: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    """Config entries whose name holds `{x}` stand for one config per value of `x`
    (with the splits `splits_for` gives that value, where it does)."""
    out: dict[str | None, dict[str, Any]] = {}
    for name, entry in configs.items():
        if name is not None and "{x}" in name:
            for x in entry["x"]:
                splits = (entry.get("splits_for") or {}).get(x, entry["splits"])
                out[name.format(x=x)] = {**entry, "splits": splits}
        else:
            out[None if name in (None, "null") else name] = entry
    return out


def _write_repo(folder: Path, configs: dict[str | None, dict[str, Any]], *, layout: str
                ) -> None:
    card = {"configs": [], "dataset_info": []}
    for config, entry in configs.items():
        name = config or "default"
        features = datasets.Features({k: feature(v) for k, v in entry["features"].items()})
        files = []
        for split in entry["splits"]:
            rel = (f"{name}/{split}/0000.parquet" if layout == "converted"
                   else f"{name}/{split}-00000-of-00001.parquet")
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            table = datasets.Dataset.from_list(rows(features, entry.get("hints") or {}),
                                               features=features)
            table.to_parquet(str(folder / rel))
            files.append({"split": split, "path": rel})
        card["configs"].append({"config_name": name, "data_files": files})
        card["dataset_info"].append({"config_name": name,
                                     "features": features._to_yaml_list()})
    if layout == "repo":
        header = yaml.safe_dump(card, sort_keys=False)
        (folder / "README.md").write_text(f"---\n{header}---\nA mirror of a hub repo.\n")


def build(root: Path, spec: Path = REPOS) -> Callable[[str, str | None], str]:
    """Write every repo of `spec` under `root`; return the id -> folder resolver."""
    folders: dict[tuple[str, str | None], Path] = {}
    for repo in yaml.safe_load(spec.read_text())["repos"]:
        configs = expand(repo["configs"])
        main = root / repo["id"]
        main.mkdir(parents=True, exist_ok=True)
        if repo.get("script"):  # main: a loading script only; data on the parquet revision
            (main / repo["script"]).write_text("# a dataset loading script\n")
            (main / "README.md").write_text("---\nlicense: unknown\n---\n")
            converted = root / "converted" / repo["id"]
            _write_repo(converted, configs, layout="converted")
            folders[(repo["id"], PARQUET_REVISION)] = converted
        else:
            _write_repo(main, configs, layout="repo")
        folders[(repo["id"], None)] = main

    def resolve(repo_id: str, revision: str | None) -> str:
        key = (repo_id, revision) if (repo_id, revision) in folders else (repo_id, None)
        if key not in folders:
            raise KeyError(f"no mirror of hub repo {repo_id} in {spec}")
        return str(folders[key])

    return resolve
