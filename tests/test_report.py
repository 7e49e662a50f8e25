"""`sweeper report` on a hand-built MLflow store whose gains are known."""

from __future__ import annotations

import csv
import math

import pytest
from conftest import run_cli

from sweeper.report.compute import build
from sweeper.sweep import tracking

BASE = {"model": "tiny", "data": "sample", "targets": "xnli", "lr": "0.003"}


def _child(tracker, parent, name, tasks, seed, scores, lr="0.003", protocol="zero_shot"):
    run = tracker.start(name=name, key=name, parent=parent, tags={
        "protocol": protocol, tracking.BASELINE_KEY_TAG: f"base-lr{lr}-seed{seed}"})
    mix = "none" if not tasks else "english" if all(not t.startswith("xnli_") for t in tasks) \
        else "non_english"
    tracker.log_params(run, {**BASE, "lr": lr, "seed": seed, "tasks": ",".join(tasks) or "(none)",
                             "task_count": len(tasks), "mix": mix})
    tracker.log_metrics(run, {f"test.xnli.{lang}.accuracy": v for lang, v in scores.items()})
    # dev numbers that would give other gains: the report must read test
    tracker.log_metrics(run, {f"dev.xnli.{lang}.accuracy": 0.0 for lang in scores})
    tracker.finish(run)


@pytest.fixture()
def store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = tracking.Tracker(uri, "handmade", tmp_path / "art")
    parent = tracker.start(name="handmade", key="handmade:sweep",
                           tags={tracking.ROLE_TAG: "sweep", "synthetic": "false"})
    g = {k: 3 * math.log1p(k) for k in (1, 2, 4)}  # low-tier gains: exactly 3 * log(1 + k)
    for seed, (en, sw) in {"0": (50.0, 40.0), "1": (52.0, 42.0)}.items():
        _child(tracker, parent, f"base-{seed}", [], seed, {"en": en, "sw": sw})
        _child(tracker, parent, f"one-{seed}", ["mnli"], seed, {"en": en + 5, "sw": sw + g[1]})
        _child(tracker, parent, f"two-{seed}", ["mnli", "qqp"], seed,
               {"en": en + 8, "sw": sw + g[2]})
    _child(tracker, parent, "four-0", ["mnli", "qqp", "sst2", "anli"], "0",
           {"en": 60.0, "sw": 40.0 + g[4]})
    _child(tracker, parent, "orphan", ["mnli"], "0", {"en": 70.0, "sw": 50.0}, lr="0.01")
    _child(tracker, parent, "translated", ["xnli_de"], "0", {"en": 50.0, "sw": 45.0},
           protocol="not_zero_shot")
    return uri, tracker, parent


def test_gains_curves_and_trend_equal_the_known_ones(store, catalog):
    uri, tracker, parent = store
    report = build(tracking.run_rows(tracker.children(parent)), catalog)
    by_name = {t.name: t for t in report.trials}
    assert by_name["one-1"].gains["xnli"]["en"] == pytest.approx(5.0)
    assert by_name["two-0"].gains["xnli"]["sw"] == pytest.approx(3 * math.log(3))
    low = {p.count: p for p in report.curves["xnli"]["low"]["english"]}
    assert low[1].mean == pytest.approx(3 * math.log(2)) and low[1].n == 2
    assert low[1].low == pytest.approx(low[1].mean) == pytest.approx(low[1].high)
    assert low[4].n == 1 and low[4].low is None  # one trial: no interval, and it says so
    trend = report.trends["xnli"]["low"]["english"]
    assert trend.slope == pytest.approx(3.0) and "no turn-down" in trend.peak
    assert any("orphan" in m and "lr=0.01" in m for m in report.missing_baselines)
    assert [t.name for t in report.apart] == ["translated"]  # not mixed into the curves
    assert all(p.n <= 2 for m in report.curves["xnli"]["all"].values() for p in m)
    assert any("single trial" in n for n in report.notes)
    effects = {h["task"]: h for h in report.helped["xnli"]}
    assert effects["mnli"]["effect"] is None  # in every trial: no comparison
    assert effects["qqp"]["n_with"] == 3 and effects["qqp"]["effect"] > 0


def test_report_command_writes_and_logs(store, tmp_path):
    uri, tracker, parent = store
    done = run_cli("report", "handmade", "--tracking-uri", uri, "--out", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "helped most" in done.stdout and "orphan" in done.stdout
    out = tmp_path / "rep"
    text = (out / "report.md").read_text()
    assert "## xnli" in text and "kept apart" in text and "no baseline" in text
    assert (out / "scaling_xnli.png").stat().st_size > 1000
    assert (out / "heatmap_xnli.png").stat().st_size > 1000
    rows = list(csv.DictReader(open(out / "results.csv")))
    one = next(r for r in rows if r["trial"] == "one-0" and r["language"] == "en")
    assert float(one["gain"]) == pytest.approx(5.0) and one["tier"] == "high"
    logged = {a.path for a in tracker.client.list_artifacts(parent, "report")}
    assert {"report/report.md", "report/results.csv", "report/scaling_xnli.png"} <= logged
    bad = run_cli("report", "no-such-sweep", "--tracking-uri", uri)
    assert bad.returncode == 2 and "no sweep or run 'no-such-sweep'" in bad.stderr
