"""The hub source: `datasets.load_dataset` on the catalog's hub ids at their revisions,
the path real runs take (the parquet conversion branch read by its config folders)."""

from __future__ import annotations

from typing import Callable

import datasets

from sweeper.catalog import Catalog, TaskSpec
from sweeper.data.sources.base import mapped_columns, template_vars
from sweeper.errors import DataError, one_line
from sweeper.hub import hub_commit


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
