"""Data checked before anything trains on it: every mapped column present, no split
empty, no text or label missing, every class label a known name or an integer index in
range. A problem is one DataError naming the file (or hub split), the column and the
first bad row. `-1`, the convention GLUE and SNLI use for a row without a gold label, is
the one out-of-range index accepted (such rows are left out of training and scoring).
Pure pyarrow: whole columns at once, no Python loop over rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sweeper.catalog import TaskSpec
from sweeper.errors import DataError, one_line

NO_LABEL = -1  # GLUE / SNLI: a row without a gold label


def _first(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """The index of the first True in a boolean column (None: there is none)."""
    hits = pc.indices_nonzero(pc.fill_null(mask, False))
    return int(hits[0].as_py()) if len(hits) else None


def _mapped(task: TaskSpec) -> list[tuple[str, str]]:
    """(canonical name, top-level column) for every column the task maps."""
    out = []
    for canon, path in task.columns.items():
        for col in path if isinstance(path, list) else [path]:
            out.append((canon, str(col).split(".", 1)[0]))
    return out


def check_table(task: TaskSpec, table: pa.Table, where: str) -> None:
    """Raise one DataError for the first problem of `table` (a split of `task` in its
    hub schema); `where` names the file or hub split."""
    if table.num_rows == 0:
        raise DataError(f"{where}: no rows (task '{task.name}' needs every split it reads)")
    for canon, col in _mapped(task):
        if col not in table.column_names:
            raise DataError(f"{where}: column '{col}' ({task.name}'s {canon}) is missing "
                            f"(has {', '.join(table.column_names)})")
        values = table.column(col)
        row = _first(pc.is_null(values))
        if row is not None:
            raise DataError(f"{where}: column '{col}', row {row}: empty ({canon} must not "
                            "be null)")
        if canon == "label" and task.labels and task.tasktype.labelled:
            check_labels(task, values, where, col)
        elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            inner = pc.list_flatten(values)
            bad = _first(pc.is_null(inner))
            if bad is not None:
                raise DataError(f"{where}: column '{col}' holds an empty item ({canon} "
                                "items must not be null)")


def check_file(task: TaskSpec, path: Path, columns: list[str]) -> None:
    """A local file (parquet or JSON lines) checked by `check_table`, reading only its
    schema, row count and the task's mapped `columns` (never the rest of the file)."""
    import pyarrow.parquet as pq

    try:
        if path.suffix == ".parquet":
            names = pq.read_schema(path).names
            wanted = [c for c in dict.fromkeys(columns) if c in names]
            table = pq.read_table(path, columns=wanted or None)
        else:
            import pyarrow.json as pj

            table = pj.read_json(path)
    except Exception as exc:  # noqa: BLE001 - any reader error is the file's
        raise DataError(f"malformed data file {path}: {one_line(exc, 200)}") from None
    check_table(task, table, str(path))


def check_labels(task: TaskSpec, values: pa.ChunkedArray, where: str, col: str) -> None:
    """Class labels as the task's encoding wants them: a known name, or an integer
    index in [0, classes) (or -1: no gold label)."""
    names = list(task.labels)
    if task.label_encoding == "name":
        text = pc.cast(values, pa.string())
        row = _first(pc.invert(pc.is_in(text, value_set=pa.array(names))))
        if row is not None:
            raise DataError(f"{where}: column '{col}', row {row}: label {text[row].as_py()!r} "
                            f"is not one of {', '.join(names)}")
        return
    numbers = _as_numbers(values, where, col)
    whole = pc.equal(pc.floor(numbers), numbers)
    row = _first(pc.invert(whole))
    if row is not None:
        raise DataError(f"{where}: column '{col}', row {row}: label {numbers[row].as_py()!r} "
                        "is not a whole class index")
    outside = pc.and_(pc.or_(pc.less(numbers, 0), pc.greater_equal(numbers, len(names))),
                      pc.not_equal(numbers, NO_LABEL))
    row = _first(outside)
    if row is not None:
        raise DataError(f"{where}: column '{col}', row {row}: label "
                        f"{int(numbers[row].as_py())} is outside 0..{len(names) - 1} "
                        f"({', '.join(names)}; -1 marks a row without a label)")


def _as_numbers(values: pa.ChunkedArray, where: str, col: str) -> pa.ChunkedArray:
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return pc.cast(values, pa.float64())
    if pa.types.is_dictionary(values.type):  # a ClassLabel read through pyarrow
        return pc.cast(pc.dictionary_decode(values) if hasattr(pc, "dictionary_decode")
                       else values.cast(values.type.value_type), pa.float64())
    text = pc.cast(values, pa.string())
    parsed = pc.cast(text, pa.float64(), safe=False) if _all_numeric(text) else None
    if parsed is None:
        row = _first(pc.invert(pc.match_substring_regex(text, r"^\s*-?\d+(\.\d+)?\s*$")))
        raise DataError(f"{where}: column '{col}', row {row}: label {text[row].as_py()!r} is "
                        "not a class index")
    return parsed


def _all_numeric(text: Any) -> bool:
    return bool(pc.all(pc.match_substring_regex(text, r"^\s*-?\d+(\.\d+)?\s*$")).as_py())
