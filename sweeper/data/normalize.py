"""Hub-schema rows -> the canonical columns of each task type (one path for all sources).

The mapping itself is the task type's (`sweeper.tasktypes.<type>.normalize`): labels
become class indices; rows without a usable label (GLUE's -1, say) are dropped here.
"""

from __future__ import annotations

import datasets

from sweeper.catalog import TaskSpec
from sweeper.digest import digest


def normalize(task: TaskSpec, ds: datasets.Dataset, tag_names: list[str] | None = None
              ) -> datasets.Dataset:
    """Map `ds` (task's hub schema) onto canonical columns; drop unlabeled rows."""
    names = tag_names if tag_names is not None else list(task.labels)
    tasktype = task.tasktype
    out = ds.map(lambda b: tasktype.normalize(task, b, names), batched=True,
                 remove_columns=ds.column_names, load_from_cache_file=False,
                 new_fingerprint=derived_fingerprint(ds, "normalize", {
                     "task": task.fingerprint(data_only=True), "names": names}))
    if "label" in out.column_names:
        out = out.filter(lambda b: [x >= 0 for x in b["label"]], batched=True,
                         load_from_cache_file=False,
                         new_fingerprint=derived_fingerprint(out, "labeled"))
    return out


def derived_fingerprint(ds: datasets.Dataset, step: str, inputs: object = None) -> str:
    """The fingerprint of `ds` after `step` with `inputs`, from `ds`'s own fingerprint.

    `datasets` would otherwise hash the mapped function with everything it closes over
    (a tokenizer, a whole task entry) on every call: seconds per split for nothing, since
    sweeper caches on its own keys and never reads `datasets`' cache files."""
    return digest({"of": ds._fingerprint, "step": step, "inputs": inputs}, 32)
