"""Hub-schema rows -> the canonical columns of each task type (one path for all sources).

Canonical columns: classification (text, label); pair_classification (text_a, text_b,
label); multiple_choice (context, choices, label); token_classification (tokens, tags);
qa (id, context, question, answers); retrieval (source, target, and source_id /
target_id where the data holds a whole BUCC release: see data/bucc.py). Labels become
class indices; rows without a usable label (GLUE's -1, say) are dropped.
"""

from __future__ import annotations

from typing import Any

import datasets

from sweeper.catalog import TaskSpec
from sweeper.digest import digest
from sweeper.errors import DataError

RELEASE_IDS = ("source_id", "target_id")  # retrieval rows of a whole release carry both


def _column(batch: dict[str, list], path: str, task: TaskSpec) -> list[Any]:
    outer, _, inner = path.partition(".")
    if outer not in batch:
        raise DataError(f"task '{task.name}': column '{outer}' not in data "
                        f"(has {', '.join(sorted(batch))})")
    values = batch[outer]
    return [v[inner] for v in values] if inner else values


def _label_index(task: TaskSpec, raw: Any) -> int:
    if raw is None:
        return -1
    if task.label_encoding == "name":
        return task.labels.index(str(raw)) if str(raw) in task.labels else -1
    value = int(raw)
    return value if 0 <= value < task.num_labels else -1


def _convert(task: TaskSpec, batch: dict[str, list], tag_names: list[str]) -> dict[str, list]:
    cols = task.columns
    if task.type == "multiple_choice":
        spec = cols["choices"]
        if isinstance(spec, list):
            choices = [list(c) for c in zip(*(_column(batch, p, task) for p in spec))]
        else:
            choices = [list(c) for c in _column(batch, spec, task)]
        n = len(choices)
        parts = [_column(batch, cols[k], task) if k in cols else [""] * n
                 for k in ("context", "question")]
        context = [" ".join(x for x in pair if x) for pair in zip(*parts)]
        labels = [_label_index(task, x) for x in _column(batch, cols["label"], task)]
        return {"context": context, "choices": choices, "label": labels}
    out: dict[str, list] = {}
    for canon, path in cols.items():
        values = _column(batch, path, task)
        if canon == "label":
            values = [_label_index(task, x) for x in values]
        elif canon == "tags" and task.label_encoding == "name":
            values = [[tag_names.index(str(t)) if str(t) in tag_names else -100 for t in tags]
                      for tags in values]
        out[canon] = values
    if task.type == "retrieval" and RELEASE_IDS[0] in batch and RELEASE_IDS[1] in batch:
        for col in RELEASE_IDS:  # a whole release: sentences without a partner too
            out[col] = batch[col]
    return out


def normalize(task: TaskSpec, ds: datasets.Dataset, tag_names: list[str] | None = None
              ) -> datasets.Dataset:
    """Map `ds` (task's hub schema) onto canonical columns; drop unlabeled rows."""
    names = tag_names if tag_names is not None else list(task.labels)
    out = ds.map(lambda b: _convert(task, b, names), batched=True,
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
