"""Tokenized splits, cached on disk as Arrow (via `datasets`) and reused by later trials.

The cache key covers everything that determines the features: the task entry's data
fields, language, split, the data version, the tokenizer's content and the max length. Entries
are written to a temporary folder and renamed into place, under a file lock, so
concurrent trials never read a half-written entry or tokenize the same split twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable

import datasets
from filelock import FileLock
from transformers import PreTrainedTokenizerBase

from sweeper.catalog import TaskSpec
from sweeper.data.normalize import derived_fingerprint, normalize
from sweeper.data.sources import DataSource
from sweeper.data.validate import check_table
from sweeper.digest import digest
from sweeper.errors import DataError

FEATURES_VERSION = "2"  # 2: retrieval features carry a release's sentence ids
EXAMPLES_VERSION = "1"  # of the normalised rows (data.normalize)


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A hash of the tokenizer's full serialisation (vocab, normaliser, specials)."""
    cached = getattr(tokenizer, "_sweeper_fingerprint", None)
    if cached is None:
        blob = tokenizer.backend_tokenizer.to_str() if tokenizer.is_fast else repr(
            sorted(tokenizer.get_vocab().items()))
        cached = hashlib.sha256(blob.encode()).hexdigest()[:16]
        tokenizer._sweeper_fingerprint = cached
    return cached


def _lengths(batch: dict) -> list[int]:
    """Each row's length in tokens (a multiple-choice row: its longest choice)."""
    column = batch["input_ids"] if "input_ids" in batch else batch["src_ids"]
    return [max(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)
            for ids in column]


def cache_key(task: TaskSpec, lang: str, split: str, *, data_version: str, tokenizer: str,
              max_length: int, doc_stride: int) -> str:
    """The task entry's data fingerprint (hub spec, columns, label encoding) + language +
    split + data version + tokenizer fingerprint + max length (+ doc stride for QA)."""
    return digest({"version": FEATURES_VERSION, "task": task.fingerprint(data_only=True),
                   "lang": lang, "split": split, "data": data_version, "tokenizer": tokenizer,
                   "max_length": max_length,
                   "doc_stride": doc_stride if task.tasktype.uses_doc_stride else None},
                  24)


_LABELS: dict[tuple[str, str], list[str]] = {}  # (task data fingerprint, data version)


def label_names(task: TaskSpec, source: DataSource) -> list[str]:
    """The task's label list, or (labels_from_data) the sorted tags of its English train
    split (read once per process and data version)."""
    if task.labels or not task.labels_from_data:
        return list(task.labels)
    memo = (task.fingerprint(data_only=True), source.version(task))
    if memo not in _LABELS:
        raw = source.load(task, task.languages[0], "train")
        column = task.columns["tags"]
        _LABELS[memo] = sorted({str(t) for tags in raw[column] for t in tags})
    return list(_LABELS[memo])


def load_examples(task: TaskSpec, lang: str, split: str, source: DataSource,
                  cache_root: str | os.PathLike | None = None) -> datasets.Dataset:
    """Canonical rows (before tokenization): what gold labels are exported from. With
    `cache_root`, cached on disk like the features (keyed by the task's data fields,
    language, split and data version), so later trials do not normalise the split again."""
    if cache_root is None:
        raw = source.load(task, lang, split)
        check_table(task, raw.data.table, source.where(task, lang, split))  # before any use
        return normalize(task, raw, label_names(task, source))
    key = digest({"version": EXAMPLES_VERSION, "task": task.fingerprint(data_only=True),
                  "lang": lang, "split": split, "data": source.version(task)}, 24)
    path = Path(cache_root).resolve() / "examples" / f"{task.name}-{lang}-{split}-{key}"
    return _cached(path, lambda: load_examples(task, lang, split, source))


def load_features(task: TaskSpec, lang: str, split: str, *, source: DataSource,
                  tokenizer: PreTrainedTokenizerBase, max_length: int,
                  cache_root: str | os.PathLike, doc_stride: int = 128) -> datasets.Dataset:
    """Tokenized `split` of `task` in `lang`, from the cache or built and cached now."""
    key = cache_key(task, lang, split, data_version=source.version(task),
                    tokenizer=tokenizer_fingerprint(tokenizer), max_length=max_length,
                    doc_stride=doc_stride)
    path = Path(cache_root).resolve() / "features" / f"{task.name}-{lang}-{split}-{key}"
    return _cached(path, lambda: _build(task, lang, split, source=source, tokenizer=tokenizer,
                                        max_length=max_length, doc_stride=doc_stride))


def _cached(path: Path, build: Callable[[], datasets.Dataset]) -> datasets.Dataset:
    """The dataset saved at `path`, or built, saved (in a temporary folder renamed into
    place, under a file lock: built once, never read half-written) and read back."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                tmp = path.with_name(path.name + f".tmp{os.getpid()}")
                shutil.rmtree(tmp, ignore_errors=True)
                build().save_to_disk(str(tmp))
                os.replace(tmp, path)
    return datasets.load_from_disk(str(path))


def _build(task: TaskSpec, lang: str, split: str, *, source: DataSource,
           tokenizer: PreTrainedTokenizerBase, max_length: int, doc_stride: int
           ) -> datasets.Dataset:
    rows = load_examples(task, lang, split, source)
    if len(rows) == 0:
        raise DataError(f"task '{task.name}' {lang}/{split} has no usable rows")
    # fingerprints from the inputs' own (hashing the closures would pickle the tokenizer)
    parts = {"task": task.fingerprint(data_only=True), "tokenizer": tokenizer_fingerprint(
        tokenizer), "max_length": max_length, "doc_stride": doc_stride}
    tasktype = task.tasktype

    def encode(batch: dict, idx: list[int]) -> dict:
        out = tasktype.encode(task, {**batch, "_index": idx}, tokenizer, max_length=max_length,
                          doc_stride=doc_stride)
        return {**out, "length": _lengths(out)}

    return rows.map(encode, batched=True, with_indices=True, remove_columns=rows.column_names,
                    load_from_cache_file=False,
                    new_fingerprint=derived_fingerprint(rows, "encode", parts))
