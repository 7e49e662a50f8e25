"""`sweeper results` and `sweeper report`: a sweep's results table from the tracking
store, the analysis of any results table, and its files.

Outputs of a report in DIR: report.md (the answer, with every interval and protocol),
analysis.json (the whole analysis: what `--json` prints), results.parquet (the table it
was computed from), scaling_<target>.png, heatmap_<target>.png, task_values_<target>.png
(chain designs). A sweep's report is also logged to its parent run under report/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sweeper import tracking
from sweeper.catalog import load_catalog
from sweeper.errors import ConfigError
from sweeper.names import safe_name
from sweeper.paths import check_writable_dir
from sweeper.report import figures, markdown, terminal
from sweeper.report.compute import analyse, with_defaults
from sweeper.report.results import from_runs, read_table, write_table
from sweeper.storage import SweepFolder


def open_sweep_runs(name_or_run: str, tracking_uri: str | None, storage: str
                    ) -> tuple[tracking.Tracker, str]:
    """The tracker and parent run of a sweep, by name (or parent run id)."""
    uri = tracking.given_uri(tracking_uri)
    folder = SweepFolder(storage, name_or_run)
    if uri is None and folder.exists("sweeper.json"):
        uri = json.loads(folder.read_text("sweeper.json"))["tracking_uri"]
    uri = tracking.store_uri(uri, storage)
    return tracking.open_sweep(tracking.open_store(uri), name_or_run)


def sweep_table(name_or_run: str, tracking_uri: str | None = None, storage: str = "runs"
                ) -> pd.DataFrame:
    """A sweep's results table: every child run (trials and baselines), whatever its
    status (`sweeper results`, `sweeper.results`)."""
    tracker, parent = open_sweep_runs(name_or_run, tracking_uri, storage)
    rows = [r.row() for r in tracker.children(parent)]
    sweep_id = tracker.run(parent).tags.get(tracking.SWEEP_ID_TAG, parent)
    return from_runs(rows, load_catalog(), sweep_id)


def _sweep_spec(storage: str, folder: str, catalog: Any) -> Any:
    """The spec a sweep ran (its state file: the space with its --set overrides), or None
    where its folder is not found under `storage`."""
    from sweeper.space.spec import parse_spec

    where = SweepFolder(storage, folder) if folder else None
    if where is None or not where.exists("sweeper.json"):
        return None
    state = json.loads(where.read_text("sweeper.json"))
    return parse_spec(state["spec_raw"], catalog, state["name"])


def write_results(name_or_run: str, out: str, tracking_uri: str | None = None,
                  storage: str = "runs") -> Path:
    table = sweep_table(name_or_run, tracking_uri, storage)
    path = write_table(table, out)
    print(f"wrote {path}: {len(table)} rows, {table['trial_id'].nunique()} runs")
    return path


def _outputs(analysis: dict[str, Any], table: pd.DataFrame, title: str, out_dir: Path
             ) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    pictures = figures.plot(analysis, with_defaults(table), out_dir)  # as analyse reads it
    (out_dir / "report.md").write_text(markdown.markdown(analysis, title, pictures))
    (out_dir / "analysis.json").write_text(json.dumps(analysis, indent=1, default=str))
    write_table(table, out_dir / "results.parquet")
    return pictures


def run_report(name_or_run: str | None = None, tracking_uri: str | None = None,
               out: str | None = None, storage: str = "runs", results: str | None = None,
               as_json: bool = False, selection: str = "english_dev") -> dict[str, Any]:
    """Analyse a sweep (from its tracking store) or a results table (`results`: any
    tool's runs in the table's columns); write the report; log a sweep's to its parent."""
    if (name_or_run is None) == (results is None):
        raise ConfigError("give a sweep name or --results FILE (one of them)")
    catalog = load_catalog()
    tracker = parent = None
    if results is not None:
        table, title = read_table(results), Path(results).name
        if out is None and not as_json:
            raise ConfigError("--results needs --out DIR for the report's files (or --json)")
    else:
        tracker, parent = open_sweep_runs(name_or_run, tracking_uri, storage)
        sweep_id = tracker.run(parent).tags.get(tracking.SWEEP_ID_TAG, parent)
        table = from_runs([r.row() for r in tracker.children(parent)], catalog, sweep_id)
        title = tracker.experiment
        state = tracker.run(parent).status
        if state == "RUNNING":
            table.attrs["running"] = True
    if table.empty:
        raise ConfigError(f"{results or name_or_run}: the results table has no rows")
    analysis = analyse(table, catalog=catalog, selection=selection)
    if parent is not None:
        logged = tracker.store.read_artifact(parent, "ranking/ranking.json")
        if logged:  # the sweep ranked its pool first (search.prior / order: rank): graded
            from sweeper.rank.grade import grade

            analysis["ranking"] = grade(json.loads(logged), table)
    if parent is not None and analysis.get("ladder"):
        spec = _sweep_spec(storage, tracker.run(parent).tags.get(tracking.FOLDER_TAG, ""),
                           catalog)
        if spec is not None and spec.fidelity is not None:
            from sweeper.report.rungs import sweep_cost

            analysis["ladder"]["cost"] = sweep_cost(table, spec, catalog)
    if table.attrs.get("running"):
        analysis["notes"].insert(0, "The sweep is still running: this report covers the "
                                    "trials finished so far.")
    out_dir = None
    if out is not None or parent is not None:
        if out is None and "://" in storage:
            raise ConfigError(f"--storage {storage} is remote: give --out (a local folder)")
        folder = safe_name(tracker.run(parent).tags.get(tracking.FOLDER_TAG, title),
                           "the sweep's folder") if parent else ""
        out_dir = check_writable_dir(out or Path(storage) / folder / "report", "--out")
        pictures = _outputs(analysis, table, title, out_dir)
        if parent is not None:
            tracker.log_artifacts(parent, out_dir, "report")
    if as_json:
        print(json.dumps(analysis, indent=1, default=str))
    else:
        print(terminal.terminal(analysis, title))
        if out_dir is not None:
            print(f"\nwrote {out_dir / 'report.md'}, analysis.json, results.parquet and "
                  f"{len(pictures)} figures" + (f"; logged to run {parent} under report/"
                                                if parent else ""))
    return {"out": str(out_dir) if out_dir else None, "parent": parent, "analysis": analysis,
            "table": table}
