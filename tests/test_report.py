"""`sweeper report` on hand-built MLflow stores whose gains are known.

The store holds what a sweep logs: baseline runs (role=baseline) per baseline key, trials
with TEST and DEV metrics (dev numbers chosen so that reading them would give other
gains), per-target protocol tags, a continuous learning rate with its own baseline,
three seeds, runs stopped by the scheduler and failed runs.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from sweeper.cli import main
from sweeper.report.compute import build
from sweeper.report.stats import mean_interval
from sweeper.sweep import tracking
from sweeper.sweep.tracking.memory import MemoryStore
from sweeper.trial.params import mix_of

G = {k: 3 * math.log1p(k) for k in (1, 2, 4)}  # low-tier (sw) gains: exactly 3 log(1 + k)
BASE = {"0": (50.0, 40.0), "1": (52.0, 42.0), "2": (51.0, 41.0)}  # seed -> (en, sw)
TATOEBA = 30.0  # every baseline's tatoeba sw score


def _run(tracker, parent, name, *, tasks, seed, xnli, tatoeba=None, lr="0.003", role="trial",
         protocols=None, status="FINISHED", mix=None):
    tags = {tracking.BASELINE_KEY_TAG: f"lr{lr}-seed{seed}", tracking.ROLE_TAG: role}
    for target, p in (protocols or {"xnli": "zero_shot", "tatoeba": "zero_shot"}).items():
        tags[f"protocol.{target}"] = p
    if status == "KILLED":
        tags["stopped_early"] = "true"
    run = tracker.start(name=name, key=name, parent=parent, tags=tags)
    tracker.log_params(run, {"model": "tiny", "lr": lr, "seed": seed, "task_count": len(tasks),
                             "tasks": ",".join(tasks) or "(none)", "intermediate_steps": "200",
                             "examples_cap": "1000", "mix": mix or "english"})
    metrics = {f"test.xnli.{lang}.accuracy": v for lang, v in xnli.items()}
    metrics.update({f"dev.xnli.{lang}.accuracy": 0.0 for lang in xnli})
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
    # one more set of size 1 (seed 0): sst2 alone, gain -1 everywhere
    _run(tracker, parent, "sst2-0", tasks=["sst2"], seed="0",
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
    return uri, tracker, parent


@pytest.fixture()
def store(tmp_path):
    return _fill(tmp_path)


def test_gains_curves_and_trend_equal_the_known_ones(store, catalog):
    uri, tracker, parent = store
    report = build([r.row() for r in tracker.children(parent)], catalog)
    by_name = {t.name: t for t in report.trials}
    assert "stopped" not in by_name and "failed" not in by_name
    assert any("2 run(s) stopped by the scheduler or failed" in n for n in report.notes)
    assert by_name["k1-1"].gains["xnli"]["en"] == pytest.approx(1.0)  # test, not dev
    assert by_name["k2-0"].gains["xnli"]["sw"] == pytest.approx(G[2])
    assert by_name["odd-lr"].gains["xnli"]["en"] == pytest.approx(2.0)  # its own baseline
    assert by_name["called-mixed"].mix == "english"
    low = {p.count: p for p in report.curves["xnli"]["low"]["english"]}
    assert 0 not in low  # k = 0 is the reference, not a point
    # k = 2: three seeds, gain G[2] each, plus called-mixed (gain 0, seed 1)
    assert low[2].n == 4 and low[2].seeds == 3
    assert low[2].mean == pytest.approx((3 * G[2] + 0) / 4)
    assert low[4].n == 3 and low[4].mean == pytest.approx(G[4])
    assert low[4].low == pytest.approx(G[4]) == pytest.approx(low[4].high)
    trend = report.trends["xnli"]["low"]["english"]
    assert trend.slope is not None and trend.n == 12
    # tatoeba: the translated trial's zero-shot target is in the curve (non-English, k=1)
    tatoeba = {p.count: p for p in report.curves["tatoeba"]["all"]["non_english"]}
    assert tatoeba[1].n == 1 and tatoeba[1].mean == pytest.approx(5.0)
    assert tatoeba[1].low is None and "too few for an interval" in tatoeba[1].why_no_interval
    assert "non_english" not in report.curves["xnli"]["all"]  # xnli_de broke xnli only
    assert [(t.name, target) for t, target in report.apart] == [("translated", "xnli")]
    assert by_name["translated"].gains["xnli"]["sw"] == pytest.approx(10.0)
    assert any("orphan" in m and "lr=0.01" in m for m in report.missing_baselines)
    assert "200 intermediate steps" in report.budgets[0]


def test_task_effects_compare_sets_of_equal_size(store, catalog):
    uri, tracker, parent = store
    report = build([r.row() for r in tracker.children(parent)], catalog)
    effects = {h["task"]: h for h in report.helped["xnli"]}
    # size 1 (zero-shot on xnli): mnli gains (1 + G1)/2 per seed; sst2 -1; qqp (odd-lr) +2
    mnli_1 = (1 + G[1]) / 2
    inside, outside = [mnli_1] * 3, [-1.0, 2.0]
    size1 = np.mean(inside) - np.mean(outside)
    # size 2: mnli in k2-* ((2 + G2)/2 each), not in called-mixed (0)
    size2 = (2 + G[2]) / 2 - 0.0
    expected = (3 * size1 + 3 * size2) / 6
    assert effects["mnli"]["effect"] == pytest.approx(expected)
    assert report.helped_title["xnli"] == "helped most"


def test_least_harmful_when_every_gain_is_negative(tmp_path, catalog):
    uri, tracker, parent = _handmade(tmp_path)
    _run(tracker, parent, "base", tasks=[], seed="0", role="baseline", xnli={"en": 50.0})
    _run(tracker, parent, "a", tasks=["mnli"], seed="0", xnli={"en": 48.0})
    _run(tracker, parent, "b", tasks=["qqp"], seed="0", xnli={"en": 45.0})
    report = build([r.row() for r in tracker.children(parent)], catalog)
    assert report.helped_title["xnli"] == "least harmful"
    assert [h["task"] for h in report.helped["xnli"]][0] == "mnli"


def test_hierarchical_bootstrap_needs_three_values():
    rng = np.random.default_rng(0)
    assert mean_interval({"0": [1.0, 2.0]}, rng)[1:] == (None, None)
    mean, low, high = mean_interval({"0": [1.0, 2.0], "1": [3.0]}, rng)
    assert mean == 2.0 and 1.0 <= low < high <= 3.0


def test_mix_label_from_composition(catalog):
    assert mix_of(["mnli", "qqp"], catalog) == "english"
    assert mix_of(["xnli_de"], catalog) == "non_english"
    assert mix_of(["mnli", "klue_nli"], catalog) == "mixed"


def test_report_command_writes_and_logs(tmp_path, capsys):
    uri, tracker, parent = _fill(tmp_path, real=True)
    assert main(["report", "handmade", "--tracking-uri", uri, "--out", str(tmp_path / "rep")]) == 0
    out, err = capsys.readouterr()
    assert "helped most" in out and "orphan" in out
    out = tmp_path / "rep"
    text = (out / "report.md").read_text()
    assert "## xnli" in text and "kept apart" in text and "no baseline" in text
    assert "Budget: 200 intermediate steps" in text
    assert (out / "scaling_xnli.png").stat().st_size > 1000
    assert (out / "heatmap_xnli.png").stat().st_size > 1000
    rows = list(csv.DictReader(open(out / "results.csv")))
    one = next(r for r in rows if r["trial"] == "k1-0" and r["language"] == "en")
    assert float(one["gain"]) == pytest.approx(1.0) and one["tier"] == "high"
    logged = set(tracker.store.artifacts(parent, "report"))
    assert {"report/report.md", "report/results.csv", "report/scaling_xnli.png"} <= logged
    assert main(["report", "no-such-sweep", "--tracking-uri", uri]) == 2
    assert "no sweep or run 'no-such-sweep'" in capsys.readouterr().err
