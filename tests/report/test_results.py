"""The results table and `sweeper report` on a hand-built tracking store whose gains are
known (the statistics on simulated tables: tests/report/test_stats.py).

The store holds what a sweep logs: baseline runs (role=baseline) per baseline key, trials
with TEST and DEV metrics (dev numbers chosen so that reading them would give other
gains and another ranking), per-target protocol tags, parallel data seen, BUCC from
gold pairs, a continuous learning rate with its own baseline, three seeds, runs stopped
by the scheduler, failed runs, a run without a baseline.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import sweeper
from sweeper import tracking
from sweeper.cli import main
from sweeper.report.columns import COLUMNS, OPTIONAL
from sweeper.report.compute import analyse
from sweeper.report.results import from_runs, read_table
from sweeper.tracking.memory import MemoryStore

G = {k: 3 * math.log1p(k) for k in (1, 2, 4)}  # low-tier (sw) gains: exactly 3 log(1 + k)
BASE = {"0": (50.0, 40.0), "1": (52.0, 42.0), "2": (51.0, 41.0)}  # seed -> (en, sw)
TATOEBA = 30.0  # every baseline's tatoeba sw score


def _run(tracker, parent, name, *, tasks, seed, xnli, tatoeba=None, lr="0.003", role="trial",
         protocols=None, status="FINISHED", mix=None, dev=None, tags=None):
    tags = {tracking.BASELINE_KEY_TAG: f"lr{lr}-seed{seed}", tracking.ROLE_TAG: role,
            "data_source": "hub", **(tags or {})}
    for target, p in (protocols or {"xnli": "zero_shot", "tatoeba": "zero_shot"}).items():
        tags[f"protocol.{target}"] = p
    if status == "KILLED":
        tags["stopped_early"] = "true"
    run = tracker.start(name=name, key=name, parent=parent, tags=tags)
    tracker.log_params(run, {"model": "tiny", "lr": lr, "seed": seed, "task_count": len(tasks),
                             "tasks": ",".join(tasks) or "(none)", "intermediate_steps": "200",
                             "examples_cap": "1000", "mix": mix or "english",
                             "targets": "xnli,tatoeba", "eval_languages": "en,sw",
                             "budget": "steps=200, examples_cap=1000" if tasks else "(none)"})
    metrics = {f"test.xnli.{lang}.accuracy": v for lang, v in xnli.items()}
    # dev numbers rank tasks the other way round from test (dev: set by `dev`, else 0)
    metrics.update({f"dev.xnli.{lang}.accuracy": (dev or {}).get(lang, 0.0) for lang in xnli})
    if tasks:
        metrics.update({"intermediate.examples_seen": 6400.0 * len(tasks),
                        "intermediate.distinct_examples": 1000.0 * len(tasks),
                        "intermediate.max_passes": 6.4})
    if tatoeba is not None:
        metrics["test.tatoeba.sw.accuracy"] = tatoeba
    tracker.log_metrics(run, metrics)
    tracker.finish(run, status)


def _handmade(tmp_path, real: bool = False):
    """A store (in memory, or a real MLflow sqlite file) holding one hand-made sweep."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = tracking.open_store(uri) if real else MemoryStore()
    tracker = tracking.Tracker(store, "handmade", tmp_path / "art")
    parent = tracker.start(name="handmade", key="handmade:sweep",
                           tags={tracking.ROLE_TAG: "sweep", "synthetic": "false"})
    return uri, tracker, parent


def _fill(tmp_path, real: bool = False):
    uri, tracker, parent = _handmade(tmp_path, real)
    sets = {1: ["mnli"], 2: ["mnli", "qqp"], 4: ["mnli", "qqp", "sst2", "anli"]}
    for seed, (en, sw) in BASE.items():
        _run(tracker, parent, f"baseline-{seed}", tasks=[], seed=seed, role="baseline",
             xnli={"en": en, "sw": sw}, tatoeba=TATOEBA)
        for k, tasks in sets.items():
            _run(tracker, parent, f"k{k}-{seed}", tasks=tasks, seed=seed,
                 xnli={"en": en + k, "sw": sw + G[k]}, tatoeba=TATOEBA + k)
    # one more set of size 1 (seed 0): sst2 alone, gain -1 on test, the best on English dev
    _run(tracker, parent, "sst2-0", tasks=["sst2"], seed="0", dev={"en": 90.0},
         xnli={"en": 49.0, "sw": 39.0}, tatoeba=TATOEBA - 1)
    # a continuous learning rate: its own baseline run, its own gains
    _run(tracker, parent, "baseline-lr", tasks=[], seed="0", lr="0.0021", role="baseline",
         xnli={"en": 45.0, "sw": 35.0}, tatoeba=TATOEBA)
    _run(tracker, parent, "odd-lr", tasks=["qqp"], seed="0", lr="0.0021",
         xnli={"en": 47.0, "sw": 37.0}, tatoeba=TATOEBA + 2)
    # an English-only set a space called "mixed": labelled by what it holds
    _run(tracker, parent, "called-mixed", tasks=["qqp", "sst2"], seed="1", mix="mixed",
         xnli={"en": 52.0, "sw": 42.0}, tatoeba=TATOEBA)
    # translate-train for xnli only: its tatoeba result stays zero-shot
    _run(tracker, parent, "translated", tasks=["xnli_de"], seed="0",
         protocols={"xnli": "translate_train", "tatoeba": "zero_shot"},
         xnli={"en": 60.0, "sw": 50.0}, tatoeba=TATOEBA + 5)
    # never in the numbers: stopped by the scheduler, failed, no baseline
    _run(tracker, parent, "stopped", tasks=["anli"], seed="0", status="KILLED",
         xnli={"en": 99.0, "sw": 99.0}, tatoeba=99.0)
    _run(tracker, parent, "failed", tasks=["anli"], seed="1", status="FAILED",
         xnli={"en": 99.0, "sw": 99.0}, tatoeba=99.0)
    _run(tracker, parent, "orphan", tasks=["mnli"], seed="0", lr="0.01",
         xnli={"en": 70.0, "sw": 50.0}, tatoeba=TATOEBA)
    # MNLI with its German translation: Tatoeba German would be parallel data seen
    _run(tracker, parent, "parallel", tasks=["mnli", "xnli_de"], seed="2",
         protocols={"xnli": "translate_train", "tatoeba": "zero_shot"},
         tags={"parallel_data_seen.tatoeba": "sw"}, xnli={"en": 60.0, "sw": 50.0},
         tatoeba=TATOEBA + 7)
    return uri, tracker, parent


@pytest.fixture()
def store(tmp_path):
    return _fill(tmp_path)


def _table(store, catalog) -> pd.DataFrame:
    uri, tracker, parent = store
    return from_runs([r.row() for r in tracker.children(parent)], catalog, "sweep-1")


def _cell(table, run, target, lang, split="test"):
    rows = table[(table["run_name"] == run) & (table["target"] == target)
                 & (table["language"] == lang) & (table["split"] == split)]
    assert len(rows) == 1, (run, target, lang, split, len(rows))
    return rows.iloc[0]


def test_the_results_table_holds_every_run_with_its_known_gains(store, catalog):
    table = _table(store, catalog)
    assert list(table.columns) == list(COLUMNS) + list(OPTIONAL)
    assert _cell(table, "k1-1", "xnli", "en")["gain"] == pytest.approx(1.0)  # test
    assert _cell(table, "k1-1", "xnli", "en", "dev")["gain"] == pytest.approx(0.0)  # dev
    row = _cell(table, "k2-0", "xnli", "sw")
    assert row["gain"] == pytest.approx(G[2]) and row["tier"] == "low" and row["k"] == 2
    assert row["tasks"] == "mnli,qqp" and row["examples_seen"] == 12800
    assert row["distinct_examples"] == 2000 and row["status"] == "finished"
    assert _cell(table, "odd-lr", "xnli", "en")["gain"] == pytest.approx(2.0)  # own baseline
    assert _cell(table, "called-mixed", "xnli", "en")["mix"] == "mixed"  # as logged
    assert _cell(table, "stopped", "xnli", "en")["status"] == "stopped"
    assert _cell(table, "failed", "xnli", "en")["status"] == "failed"
    assert math.isnan(_cell(table, "orphan", "xnli", "en")["gain"])
    assert _cell(table, "translated", "xnli", "sw")["protocol"] == "translate_train"
    assert _cell(table, "translated", "tatoeba", "sw")["protocol"] == "zero_shot"
    assert _cell(table, "parallel", "tatoeba", "sw")["protocol"] == "parallel_data_seen"
    base = _cell(table, "baseline-0", "xnli", "en")
    assert base["role"] == "baseline" and base["k"] == 0 and base["gain"] == 0
    assert set(table["sweep_id"]) == {"sweep-1"}


def test_the_analysis_of_the_store(store, catalog):
    analysis = analyse(_table(store, catalog), catalog=catalog)
    xnli = analysis["targets"]["xnli"]
    low = {p["k"]: p for p in xnli["curves"]["low"]["english"]}
    assert 0 not in low  # k = 0 is the reference, not a point
    # k = 1: mnli in three seeds (G[1]), sst2 (-1), and qqp at the other lr (+2) share
    # seed 0 units; the stopped anli run is counted at its point, not in the mean
    assert low[1]["stopped"] == 1 and low[1]["failed"] == 1
    assert low[4]["trials"] == 3 and low[4]["mean"] == pytest.approx(G[4])
    assert low[4]["low"] is None  # three identical gains: no zero-width interval
    effect = analysis["count_effect"]["xnli"]["low"]["english"]
    assert set(effect) >= {"estimate", "low", "high", "adjusted_for"}
    # the helped ranking follows English DEV (sst2 first), test beside (sst2: -1)
    helped = xnli["helped"]
    assert helped["ranked_on"] == "english_dev" and helped["tasks"][0]["task"] == "sst2"
    assert helped["tasks"][0]["test"] < 0
    picked = xnli["selected"]
    assert picked["english_dev"]["tasks"] == "sst2" and "target_dev" in picked
    apart = {(a["target"], a["protocol"]): a for a in analysis["apart"]}
    assert apart[("xnli", "translate_train")]["trials"] == 2
    assert apart[("tatoeba", "parallel_data_seen")]["languages"] == ["sw"]
    licences = {x["task"]: x for x in analysis["licences"]}
    assert licences["xnli"]["non_commercial"] and not licences["mnli"]["non_commercial"]
    assert any("1 trial(s) stopped" in n and "1 failed" in n for n in analysis["notes"])
    assert any("no baseline" in n for n in analysis["notes"])


def test_the_analysis_does_not_depend_on_the_order_the_store_gives_runs_in(store, catalog):
    """Found by the chaos run: a resumed sweep's runs were made in another order, the
    store gave them back in it, and the report's effects differed in their last digits
    from the fault-free run's. The table now puts runs in their own order first."""
    uri, tracker, parent = store
    rows = [r.row() for r in tracker.children(parent)]
    shuffled = [rows[i] for i in (list(range(1, len(rows), 2)) + list(range(0, len(rows), 2)))]
    first = analyse(from_runs(rows, catalog, "sweep-1"), catalog=catalog)
    again = analyse(from_runs(shuffled[::-1], catalog, "sweep-1"), catalog=catalog)
    assert json.dumps(first, sort_keys=True, default=str) == \
        json.dumps(again, sort_keys=True, default=str)


def test_results_and_report_commands(tmp_path, capsys):
    uri, tracker, parent = _fill(tmp_path, real=True)
    for name in ("t.parquet", "t.csv"):
        assert main(["results", "handmade", "--tracking-uri", uri,
                     "--out", str(tmp_path / name)]) == 0
    parquet, csv = read_table(tmp_path / "t.parquet"), read_table(tmp_path / "t.csv")
    frame = sweeper.results("handmade", tracking_uri=uri)
    assert len(parquet) == len(csv) == len(frame) and set(frame.columns) >= set(COLUMNS)
    pd.testing.assert_series_equal(parquet["gain"], csv["gain"], check_names=False)
    capsys.readouterr()
    assert main(["report", "handmade", "--tracking-uri", uri, "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "TEST gain per log(1+k)" in out and "no baseline" in out
    text = (tmp_path / "rep" / "report.md").read_text()
    for section in ("## xnli", "Not zero-shot, kept apart", "parallel_data_seen",
                    "Licences of the data used", "**yes**", "ranked on DEV", "oracle"):
        assert section in text, section
    assert (tmp_path / "rep" / "scaling_xnli.png").stat().st_size > 1000
    assert json.loads((tmp_path / "rep" / "analysis.json").read_text())["count_effect"]
    logged = set(tracker.store.artifacts(parent, "report"))
    assert {"report/report.md", "report/results.parquet", "report/analysis.json"} <= logged
    assert main(["report", "--results", str(tmp_path / "t.csv"), "--json"]) == 0
    assert "xnli" in json.loads(capsys.readouterr().out)["count_effect"]
    assert main(["report", "no-such-sweep", "--tracking-uri", uri]) == 2
    assert "no sweep or run 'no-such-sweep'" in capsys.readouterr().err


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.drop(columns=["gain"]), "missing column(s) gain"),
    (lambda t: t.assign(status="done"), "column status holds 'done'"),
    (lambda t: t.assign(k="many"), "column k, data row 1: 'many' is not a number"),
    (lambda t: t.assign(split="validation"), "column split holds 'validation'"),
])
def test_a_bad_results_table_is_one_line_and_exit_2(tmp_path, catalog, store, edit, needle):
    from conftest import run_cli

    path = tmp_path / "bad.csv"
    edit(_table(store, catalog)).to_csv(path, index=False)
    done = run_cli("report", "--results", str(path), "--json")
    assert done.returncode == 2 and needle in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_running_sweep_is_reported_as_running(store, catalog):
    """Trials still running are counted as running, never as stopped or failed, and the
    report says the sweep is not done."""
    table = _table(store, catalog)
    first = table["trial_id"][table["role"] == "trial"].iloc[0]
    table.loc[table["trial_id"] == first, "status"] = "running"
    analysis = analyse(table, catalog=catalog)
    assert analysis["trials"]["running"] == 1
    assert any(n.startswith("The sweep is still running: 1 trial(s)") for n in analysis["notes"])


def test_a_ladders_trials_carry_their_rung(catalog):
    """`rung`, `rung_level` and `rung_via` from a ladder trial's tags; empty elsewhere."""
    def row(run_id: str, tags: dict) -> dict:
        return {"run_id": run_id, "name": run_id, "status": "FINISHED",
                "params": {"tasks": "mnli", "seed": "0", "targets": "xnli",
                           "eval_languages": "en"},
                "tags": {tracking.ROLE_TAG: "trial", **tags},
                "metrics": {"test.xnli.en.accuracy": 50.0}}

    table = from_runs([row("a", {tracking.RUNG_TAG: "full", tracking.RUNG_LEVEL_TAG: "1",
                                 tracking.VIA_TAG: "audited"}), row("b", {})], catalog)
    a, b = table[table["trial_id"] == "a"].iloc[0], table[table["trial_id"] == "b"].iloc[0]
    assert (a["rung"], a["rung_level"], a["rung_via"]) == ("full", 1.0, "audited")
    assert b["rung"] == "" and math.isnan(b["rung_level"]) and b["rung_via"] == ""

