"""Where task data comes from: the hub, a local directory, or the synthetic sample.

Every source returns a `datasets.Dataset` in the task's HUB schema for one
(task, language, logical split); `normalize` then maps any of them onto the canonical
columns the pipeline uses. So there is one code path after loading.

Local layout (what `sweeper data export` writes and the sample source generates):
``<dir>/<task>/<lang>/<split>.parquet`` (or ``.jsonl``), split in train/validation/test.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Protocol

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.sample import generator as sample
from sweeper.digest import digest
from sweeper.errors import DataError, one_line
from sweeper.hub import hub_commit

datasets.disable_progress_bars()


def template_vars(catalog: Catalog, lang: str) -> dict[str, str]:
    """Values a hub config / filter template may use for language `lang`."""
    info = catalog.languages[lang]
    return {"lang": lang, "name": info.name, "name_lower": info.name.lower(),
            "tatoeba": info.tatoeba}


class DataSource(Protocol):
    """Loads one (task, language, logical split) in the task's hub schema."""

    name: str

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset: ...

    def where(self, task: TaskSpec, lang: str, split: str) -> str: ...

    def version(self, task: TaskSpec) -> str:
        """Changes whenever the data this source serves for `task` may have changed."""
        ...


def hub_path(repo_id: str, revision: str | None) -> str:
    """What `datasets.load_dataset` is given for a hub repo: its id (tests map ids to
    fixture folders that mirror the repos, through `HubSource(resolve=...)`)."""
    return repo_id


RepoResolver = Callable[[str, "str | None"], str]
PARQUET_REVISION = "refs/convert/parquet"


def load_call(config: str | None, revision: str | None) -> tuple[str | None, dict[str, str]]:
    """The config name and extra arguments of the `datasets` call for one hub config.
    The hub's parquet conversion keeps each config in a folder of its name, a split in a
    subfolder (``<config>/<split>/0000.parquet``; big ones ``partial-<split>``): that
    folder is read, whether or not the branch's card lists its configs."""
    if revision == PARQUET_REVISION:
        return None, {"data_dir": config or "default"}
    return config, {}


class HubSource:
    """`datasets.load_dataset` with the catalog's hub ids: the path real runs take."""

    name = "hub"

    def __init__(self, catalog: Catalog, revision: str | None = None,
                 resolve: RepoResolver = hub_path):
        self.catalog = catalog
        self.revision = revision
        self.resolve = resolve
        self._versions: dict[str, str] = {}

    def version(self, task: TaskSpec) -> str:
        """Each hub repo of the task at its revision, as a commit hash where the hub (or
        the local hub cache) can say which commit that is."""
        if task.name not in self._versions:
            commits = [hub_commit(src.id, repo_type="dataset",
                                  revision=src.revision or self.revision) for src in task.hub]
            parts = [f"{src.id}@{commit}" for src, commit in zip(task.hub, commits)]
            self._versions[task.name] = "hub:" + ";".join(parts)
        return self._versions[task.name]

    @staticmethod
    def check(task: TaskSpec, lang: str, split: str) -> None:
        """The catalog puts `split` of `task` on the hub (asking the hub is left to load)."""
        if not task.hub:
            raise DataError(f"task '{task.name}' is not on the hub: read it from local files "
                            f"(DIR/{task.name}/{lang}/<split>.parquet) with local: "
                            f"{{{task.name}: DIR}} in a space, --set local_data="
                            f"{task.name}=DIR, or --data DIR")
        for src in task.hub:
            if split not in src.splits:
                raise DataError(f"task '{task.name}' has no '{split}' split on the hub "
                                f"({src.id}: {', '.join(src.splits)})")

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        self.check(task, lang, split)
        fmt = template_vars(self.catalog, lang)
        parts = []
        for src in task.hub:
            config = src.config.format(**fmt) if src.config else None
            for hub_split in src.splits[split]:
                ds = self._load_one(src.id, config, hub_split, src.revision or self.revision)
                for col, value in src.filter.items():
                    want = value.format(**fmt)
                    ds = ds.filter(lambda r, c=col, v=want: r[c] == v)
                if src.id_prefix:
                    prefix = src.id_prefix.format(**fmt)
                    ds = ds.filter(lambda r, p=prefix: str(r["id"]).startswith(p))
                parts.append(ds)
        if len(parts) > 1:  # several sources under one head: keep the mapped columns
            keep = mapped_columns(task)
            parts = [p.select_columns([c for c in keep if c in p.column_names]) for p in parts]
            parts = [p.cast(parts[0].features) for p in parts]
        return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]

    def where(self, task: TaskSpec, lang: str, split: str) -> str:
        fmt = template_vars(self.catalog, lang)
        return "; ".join(f"hub {src.id}" + (f" [{src.config.format(**fmt)}]" if src.config
                                              else "") + f" split {'+'.join(src.splits[split])}"
                         for src in task.hub if split in src.splits)

    def _load_one(self, hub_id: str, config: str | None, split: str, revision: str | None
                  ) -> datasets.Dataset:
        name, extra = load_call(config, revision)
        try:
            return datasets.load_dataset(self.resolve(hub_id, revision), name, split=split,
                                         revision=revision, **extra)
        except Exception as exc:  # network, missing config or split: one line for the user
            raise DataError(f"cannot load {hub_id} config {config!r} split {split!r} from the "
                            f"hub: {one_line(exc, 200)} (offline? use --data sample or --data "
                            "DIR)") from None


def mapped_columns(task: TaskSpec) -> list[str]:
    """The top-level hub columns the task's column mapping reads."""
    cols: list[str] = []
    for value in task.columns.values():
        for col in value if isinstance(value, list) else [value]:
            cols.append(col.split(".", 1)[0])
    return cols


class LocalSource:
    """Parquet or JSON-lines files laid out as <dir>/<task>/<lang>/<split>.<ext>."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        try:
            self.root = Path(root).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise DataError(f"data directory {root}: cannot be resolved ({exc})") from None
        self._versions: dict[str, str] = {}
        if not self.root.is_dir():
            raise DataError(f"data directory not found: {self.root}")

    def version(self, task: TaskSpec) -> str:
        """A hash of the name, size and mtime of each of the task's files, taken once per
        task and source object."""
        if task.name not in self._versions:
            stats = sorted((str(p.relative_to(self.root)), p.stat().st_size,
                            p.stat().st_mtime_ns) for p in (self.root / task.name).glob("*/*.*"))
            self._versions[task.name] = "local:" + digest(stats, 16)
        return self._versions[task.name]

    def path(self, task: TaskSpec, lang: str, split: str) -> Path:
        for ext in ("parquet", "jsonl"):
            p = self.root / task.name / lang / f"{split}.{ext}"
            if p.exists():
                return p
        raise DataError(f"missing split: no {self.root / task.name / lang / split}.parquet "
                        f"(or .jsonl) for task '{task.name}', language '{lang}'")

    def where(self, task: TaskSpec, lang: str, split: str) -> str:
        return str(self.path(task, lang, split))

    def check(self, task: TaskSpec, lang: str, split: str) -> None:
        """The file is there and its mapped columns pass sweeper.data.validate."""
        from sweeper.data.validate import check_file

        check_file(task, self.path(task, lang, split), mapped_columns(task))

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        p = self.path(task, lang, split)
        try:
            if p.suffix == ".parquet":
                return datasets.Dataset(pq.read_table(p))
            return datasets.Dataset.from_json(str(p))
        except Exception as exc:
            raise DataError(f"malformed data file {p}: {one_line(exc, 200)}") from None


class SampleSource(LocalSource):
    """SYNTHETIC data generated on first use into a local directory, then read from it."""

    name = "sample"

    def __init__(self, catalog: Catalog, cache_root: str | os.PathLike):
        root = Path(cache_root).resolve() / f"sample-v{sample.SAMPLE_VERSION}"
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root)
        self.catalog = catalog
        self.train_sources = {t.train_from for t in catalog.targets()}

    def version(self, task: TaskSpec) -> str:
        return f"sample:v{sample.SAMPLE_VERSION}"

    def path(self, task: TaskSpec, lang: str, split: str) -> Path:
        if lang not in task.languages:
            raise DataError(f"task '{task.name}' has no language '{lang}'")
        if split not in ("train", "validation", "test"):
            raise DataError(f"unknown split '{split}' (train, validation, test)")
        p = self.root / task.name / lang / f"{split}.parquet"
        if not p.exists():
            restrict = split == "train" and (task.is_target or task.name in self.train_sources)
            prefix = ""
            if task.hub and task.hub[0].id_prefix:
                prefix = task.hub[0].id_prefix.format(**template_vars(self.catalog, lang))
            rows = sample.generate(task, lang, split, self.catalog.tier(lang),
                                   restrict_cues=restrict, id_prefix=prefix)
            write_rows(rows, p)
        return p


def write_rows(rows: list[dict] | datasets.Dataset, path: Path) -> None:
    """Write rows as parquet atomically: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = rows.data.table if isinstance(rows, datasets.Dataset) else pa.Table.from_pylist(rows)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class MixedSource:
    """One source for most tasks, local folders for some (`task=DIR`): CCGbank or the BUCC
    release beside the hub, say."""

    def __init__(self, base: DataSource, local: dict[str, LocalSource]):
        self.base, self.local = base, local
        self.name = f"{base.name}+local"

    def source(self, task: TaskSpec) -> DataSource:
        return self.local.get(task.name, self.base)

    def load(self, task: TaskSpec, lang: str, split: str) -> datasets.Dataset:
        return self.source(task).load(task, lang, split)

    def version(self, task: TaskSpec) -> str:
        return self.source(task).version(task)

    def where(self, task: TaskSpec, lang: str, split: str) -> str:
        return self.source(task).where(task, lang, split)


def check_available(needed: list[tuple[TaskSpec, str, str]], *, data: str,
                    local: dict[str, str], catalog: Catalog) -> None:
    """Every (task, language, split) in `needed` exists where it will be read from: local
    folders (a data DIR, or a task's `local` folder) file by file; the hub as far as the
    catalog says (the hub itself is asked on load); the sample makes anything. Creates
    nothing, so read-only commands may call it."""
    overrides = {catalog.task(t).name: LocalSource(d) for t, d in local.items()}
    base = LocalSource(data) if data not in ("sample", "hub") else None
    for task, lang, split in needed:
        folder = overrides.get(task.name, base)
        if folder is not None:
            folder.check(task, lang, split)
        elif data == "hub":
            HubSource.check(task, lang, split)


def make_source(spec: str, catalog: Catalog, cache_root: str | os.PathLike,
                local: dict[str, str] | None = None) -> DataSource:
    """`sample` (default), `hub`, or a path to a local data directory; `local` ({task:
    DIR}) reads those tasks from local folders instead."""
    if spec == "sample":
        base: DataSource = SampleSource(catalog, cache_root)
    elif spec == "hub":
        base = HubSource(catalog)
    else:
        base = LocalSource(spec)
    if not local:
        return base
    return MixedSource(base, {catalog.task(t).name: LocalSource(d) for t, d in local.items()})
