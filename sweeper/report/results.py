"""The results table: one row per trial x target x language x split, the analysis's only
input.

`from_runs` builds it from a sweep's child runs (trials and the baselines the sweep
built); `read_table` reads one from a file (any tool's runs, in these columns), checking
its columns and values; `write_table` writes parquet or csv. The columns, each
documented in COLUMNS (and in the README), are those a reader needs to redo any number
of the report: the task set and its size, the target, language, tier and split, the
score, its baseline's score and the gain, what the intermediate phase really trained on
(examples seen, distinct examples, passes), its budget, the protocol the row was made
under and whether the trial finished. Pure: plain dicts and pandas, no mlflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sweeper import tracking
from sweeper.catalog import Catalog
from sweeper.errors import ConfigError, DataError
from sweeper.report.columns import COLUMNS, NUMERIC, OPTIONAL, SPLITS, STATUSES
from sweeper.scoring.xtreme import main_metric


def status_of(row: dict[str, Any]) -> str:
    """A run's status as the table spells it."""
    if row["tags"].get(tracking.STOPPED_TAG) == "true" or row["status"] == "KILLED":
        return "stopped"
    return {"FINISHED": "finished", "FAILED": "failed"}.get(row["status"], "running")


def _scores(row: dict[str, Any], catalog: Catalog) -> dict[tuple[str, str, str], float]:
    """(split, target, language) -> main metric, from a run's metric names."""
    values: dict[tuple[str, str, str], dict[str, float]] = {}
    for name, value in row["metrics"].items():
        parts = name.split(".")
        if len(parts) == 4 and parts[0] in SPLITS and parts[1] in catalog.tasks \
                and parts[2] in catalog.languages and parts[3] != "threshold":
            values.setdefault((parts[0], parts[1], parts[2]), {})[parts[3]] = value
    return {key: main_metric(key[1], v) for key, v in values.items()}


def _expected(row: dict[str, Any], catalog: Catalog) -> list[tuple[str, str]]:
    """(target, language) a run evaluates (from its params): rows for a run that stopped
    before it scored anything, so that the report can count it where it belongs."""
    params = row["params"]
    targets = [t for t in params.get("targets", "").split(",") if t in catalog.tasks]
    langs = set(params.get("eval_languages", "").split(","))
    return [(t, lang) for t in targets for lang in catalog.task(t).languages
            if not langs - {""} or lang in langs]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _run_fields(row: dict[str, Any], sweep_id: str) -> dict[str, Any]:
    """The columns that are the same for every row of one run."""
    params, tags, metrics = row["params"], row["tags"], row["metrics"]
    tasks = [t for t in params.get("tasks", "").split(",") if t and t != "(none)"]
    k = len(tasks)
    data = {c: metrics.get(f"intermediate.{c}") for c in ("examples_seen",
                                                           "distinct_examples", "max_passes")}
    if k == 0:
        data = {c: 0.0 for c in data}
    return {
        "sweep_id": sweep_id, "trial_id": row["run_id"], "seed": _number(params.get("seed")),
        "tasks": ",".join(tasks), "k": k, "mix": params.get("mix", "none" if not k else ""),
        **data, "budget": params.get("budget", "(none)" if not k else ""),
        "status": status_of(row), "role": tags.get("sweeper.role", "trial"),
        "run_name": row.get("name") or "", "chain": tags.get("sweeper.chain", ""),
        "added": tags.get("sweeper.chain_added", ""), "arm": tags.get("sweeper.budget_arm", ""),
        "data_source": tags.get("data_source", params.get("data", "")),
        "model": params.get("model", ""), "rung": tags.get("sweeper.rung", ""),
        "rung_level": _number(tags.get("sweeper.rung_level")),
        "rung_via": tags.get("sweeper.rung_via", ""),
    }


def _protocol(tags: dict[str, str], target: str, lang: str) -> str:
    whole = tags.get("protocol", "zero_shot")
    protocol = tags.get(f"protocol.{target}") or (whole if whole != "not_zero_shot"
                                                   else "not_zero_shot")
    seen = tags.get(f"parallel_data_seen.{target}", "")
    if protocol == "zero_shot" and lang in seen.split(","):
        return "parallel_data_seen"
    return protocol


def from_runs(rows: list[dict[str, Any]], catalog: Catalog, sweep_id: str = "") -> pd.DataFrame:
    """The table of a sweep's child runs (tracking.RunRecord.row()): trials and baselines,
    whatever their status; gains against the run with the same baseline key (the sweep's
    own baseline first). Rows come in the runs' own order (`_canonical`), not the
    store's: sums over them are then the same to the last digit whichever order a
    resumed sweep's runs were made in."""
    rows = sorted(rows, key=_canonical)
    by_key: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r["tags"].get("sweeper.role") != "baseline"):
        key = row["tags"].get("sweeper.baseline_key")
        tasks = [t for t in row["params"].get("tasks", "").split(",") if t and t != "(none)"]
        if key and not tasks and status_of(row) == "finished":
            by_key.setdefault(key, _scores(row, catalog))
    out = []
    for row in rows:
        scores = _scores(row, catalog)
        base = by_key.get(row["tags"].get("sweeper.baseline_key", ""), {})
        fields = _run_fields(row, sweep_id)
        keys = set(scores) | {(s, t, lang) for t, lang in _expected(row, catalog)
                              for s in SPLITS if not scores}
        for split, target, lang in sorted(keys):
            score = scores.get((split, target, lang))
            ref = base.get((split, target, lang))
            out.append({
                **fields, "target": target, "language": lang, "tier": catalog.tier(lang),
                "split": split, "score": score, "baseline_score": ref,
                "gain": score - ref if score is not None and ref is not None else None,
                "protocol": _protocol(row["tags"], target, lang),
                "comparable": f"not_comparable_with_xtreme.{target}" not in row["tags"],
                # the target type's protocol note (only retrieval's says anything today)
                "retrieval_protocol": row["tags"].get(f"{catalog.task(target).type}_protocol",
                                                      ""),
            })
    frame = pd.DataFrame(out, columns=list(COLUMNS) + list(OPTIONAL))
    return _typed(frame)


def _canonical(row: dict[str, Any]) -> tuple[str, ...]:
    """A run's place by what it is (role, tasks, seed, chain and position, rung), its
    name and id last."""
    params, tags = row["params"], row["tags"]
    return (tags.get("sweeper.role", "trial"), params.get("tasks", ""),
            str(params.get("seed", "")), tags.get("sweeper.chain", ""),
            tags.get("sweeper.chain_added", ""), tags.get("sweeper.rung_level", ""),
            row.get("name") or "", row["run_id"])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for c in (*NUMERIC, "rung_level"):
        if c in frame:
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
    if "comparable" in frame:
        frame["comparable"] = frame["comparable"].map(
            lambda v: str(v).strip().lower() not in ("false", "0", "no"))
    for c in ("tasks", "chain", "added", "arm", "budget", "mix", "rung", "rung_via"):
        if c in frame:
            frame[c] = text_column(frame[c])
    return frame


def text_column(values: pd.Series) -> pd.Series:
    """Strings, '' where the value is missing (a csv reads empty cells as NaN)."""
    return values.astype(object).where(values.notna(), "").astype(str)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Parquet or csv, by the file's suffix; written whole or not at all."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise ConfigError(f"{path}: the results table is written as .parquet or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A results table from a file (ours or any tool's, in COLUMNS), checked: every
    column present, splits, statuses and protocols known, numbers numeric."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"results table not found: {path}")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else \
            pd.read_csv(path, keep_default_na=True, dtype={"tasks": str, "chain": str})
    except Exception as exc:  # noqa: BLE001 - any reader error is the file's
        raise DataError(f"{path}: not a readable results table ({type(exc).__name__})") \
            from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (see `sweeper "
                        "results --help` or the README for the columns)")
    for column, allowed in (("split", SPLITS), ("status", STATUSES)):
        bad = sorted(set(frame[column].dropna().astype(str)) - set(allowed))
        if bad:
            raise DataError(f"{path}: column {column} holds {bad[0]!r} (expected one of "
                            f"{', '.join(allowed)})")
    for column in NUMERIC:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad_rows = frame.index[numbers.isna() & frame[column].notna()
                               & (frame[column].astype(str).str.strip() != "")]
        if len(bad_rows):
            raise DataError(f"{path}: column {column}, data row {int(bad_rows[0]) + 1}: "
                            f"{frame[column][bad_rows[0]]!r} is not a number")
    return _typed(frame)
