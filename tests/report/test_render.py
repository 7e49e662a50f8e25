"""`sweeper report` on a results table: its files, what it prints, and the arguments it
refuses (a sweep's report from its tracking store: tests/report/test_results.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from simtables import simulate

from sweeper.errors import ConfigError
from sweeper.report.render import run_report
from sweeper.report.results import read_table, write_table


def _small(path, **columns) -> str:
    """A small simulated sweep's table, written where `--results` reads it."""
    table = simulate(5, counts=(1, 2), draws=1, seeds=2).assign(**columns)
    write_table(table, path)
    return str(path)


def test_a_results_table_s_report_writes_its_files(tmp_path, capsys):
    results = _small(tmp_path / "sim.parquet", comparable=True, data_source="hub", model="m")
    done = run_report(results=results, out=str(tmp_path / "report"))
    out = tmp_path / "report"
    assert done["out"] == str(out) and done["parent"] is None
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.json", "heatmap_xnli.png", "report.md", "results.parquet", "scaling_xnli.png"]
    assert json.loads((out / "analysis.json").read_text())["rows"] == len(done["table"]) == 40
    assert (out / "report.md").read_text().startswith("# Sweep report: sim.parquet\n")
    pd.testing.assert_frame_equal(read_table(out / "results.parquet"), read_table(results))
    printed = capsys.readouterr().out
    assert printed.startswith("Sweep sim.parquet: 4 trials finished")  # 2 counts x 2 seeds
    assert printed.rstrip().endswith(f"wrote {out / 'report.md'}, analysis.json, "
                                     "results.parquet and 2 figures")


@pytest.mark.xfail(raises=KeyError, strict=True,
                   reason="the heat map reads the optional column 'comparable' of a table "
                          "that need not have it (report.figures)")
def test_a_table_without_the_optional_columns_is_drawn(tmp_path, capsys):
    run_report(results=_small(tmp_path / "sim.parquet"), out=str(tmp_path / "report"))


def test_what_a_report_refuses(tmp_path):
    with pytest.raises(ConfigError, match="give a sweep name or --results FILE"):
        run_report()
    with pytest.raises(ConfigError, match="give a sweep name or --results FILE"):
        run_report("alpha", results="x.csv")
    results = _small(tmp_path / "sim.csv")
    with pytest.raises(ConfigError, match="--results needs --out DIR"):
        run_report(results=results)
    empty = tmp_path / "empty.csv"
    write_table(read_table(results).iloc[:0], empty)
    with pytest.raises(ConfigError, match="empty.csv: the results table has no rows"):
        run_report(results=str(empty), as_json=True)
