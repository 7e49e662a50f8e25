"""The benchmarks stay runnable: a short run of the training-throughput comparison over
every task type writes what the README reads (both loops' rates, the ratios); the
fidelity ladder on simulated truth meets its goals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_train_throughput_compares_every_task_type(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "bench/train_throughput.py", "--reps", "1", "--steps", "3",
         "--warmup", "1", "--batch-size", "8", "--max-len", "48", "--floor", "--json", str(out),
         "--scratch", str(tmp_path / "scratch")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [r["task_type"] for r in results] == ["pair_classification", "multiple_choice",
                                                 "token_classification", "qa"]
    for r in results:
        for loop in ("sweeper", "Trainer", "bare step"):
            assert r[loop]["median_examples_per_s"] > 0
        assert r["ratio"]["median"] > 0 and r["phase_ratio"]["median"] > 0
        assert r["loop_vs_bare"]["median"] > 0
        assert "too few repetitions" in done.stdout  # one repetition: no spread claimed


@pytest.mark.slow
def test_the_gpu_check_dry_runs_on_the_cpu_and_feeds_the_cost_table(tmp_path):
    """bench/gpu_check.py, the tiny shape on the CPU: every section runs, every number the
    README and the cost table read is there; then sweep_cost reads its results.json."""
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--out", str(tmp_path),
                           "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["dry_run"] and results["peak"]["tflops"] > 0
    train = results["train"]
    for run in ("pair_128_4x8", "pair_128_auto", "pair_256_4x8", "pair_256_auto",
                "token_256_auto", "qa_384_auto", "choice_128_auto", "mlm_256_auto"):
        assert train[run]["examples_per_s"] > 0 and train[run]["host_syncs_per_step"] == 0
    assert train["pair_256_4x8"]["micro_batch"] == 4 and train["pair_256_auto"][
        "micro_batch"] == 32
    assert results["bucc"]["planted_found"] > 0.9 and results["eval"]["sized_over_fixed"] > 0
    for kind, parity in results["parity"].items():
        if isinstance(parity, dict):
            assert parity["argmax_agreement"] == 1.0, kind
    assert results["share"]["both_finished"] and results["compile"]["skipped"]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) <= 8  # what comes back from a lent machine
    cost = subprocess.run([sys.executable, "bench/sweep_cost.py", "search_spaces/xstilts.yaml",
                           "--results", str(tmp_path / "results.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert cost.returncode == 0 and "| xstilts | 12 |" in cost.stdout, cost.stderr[-2000:]
    # the H200's own results (bench/results/h200.json) give the README's cost table
    h200 = subprocess.run([sys.executable, "bench/sweep_cost.py", "search_spaces/xstilts.yaml",
                           "--results", "bench/results/h200.json", "--gpus", "8"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "| xstilts | 12 | 1 | 11 | 72 | 33 | 31 | 3.8 (N=8) | 157 |" in h200.stdout, \
        h200.stdout[-2000:] + h200.stderr[-2000:]


@pytest.mark.slow
def test_the_levers_check_dry_runs_every_eager_variant_on_the_cpu(tmp_path):
    """bench/gpu_levers.py --dry-run: the tiny shape, the eager variants measured (their
    losses with dropout off those of the bare loop), the others saying they need CUDA."""
    done = subprocess.run([sys.executable, "bench/gpu_levers.py", "--out", str(tmp_path),
                           "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    levers = json.loads((tmp_path / "levers.json").read_text())["levers"]
    for name in ("train", "bare", "buckets", "whole_step", "bf16_copies", "upper_bound"):
        assert levers[name]["step_ms"] > 0 and levers[name]["busy_ms"] > 0, name
    for name in ("train", "buckets", "whole_step"):  # the bare loop's numbers, dropout off
        assert levers[name]["max_rel_loss_diff"] < 1e-4, name
    assert levers["bf16_copies"]["max_rel_loss_diff"] < 0.05  # bf16 weights: rounding
    for name in ("graphs", "compiled", "compiled_graphs"):
        assert levers[name] == {"skipped": "needs CUDA"}
        assert f"{name}: needs CUDA" in done.stdout
    assert levers["best_over_train"] > 0 and levers["train"]["over_train"] == 1.0
    assert levers["widths"] == sorted(levers["widths"]) and levers["widths"][-1] == 64
    cost = subprocess.run([sys.executable, "bench/sweep_cost.py", "search_spaces/xstilts.yaml",
                           "--levers", str(tmp_path / "levers.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert cost.returncode == 0 and "| xstilts | 12 |" in cost.stdout, cost.stderr[-2000:]
    assert "bench/gpu_levers.py" in cost.stdout


@pytest.mark.slow
def test_the_gpu_trial_script_dry_runs_a_trial_twice_and_compares(tmp_path):
    """bench/gpu_trial.py --dry-run: the tiny trial run twice on the CPU (the second where
    a lease runs CUDA) through `sweeper trial`; equal numbers are within the tolerance."""
    done = subprocess.run([sys.executable, "bench/gpu_trial.py", "--out", str(tmp_path),
                           "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    found = json.loads((tmp_path / "gpu_trial.json").read_text())
    assert found["versions"]["datasets"] != "?" and found["versions"]["pydantic"] != "?"
    tiny = found["tiny"]
    assert tiny["cpu_vs_cuda"]["within_tolerance"]
    assert set(tiny["cpu_vs_cuda"]["dev_points_diff"]) == {"xnli", "panx"}
    for run in ("cpu_fp32", "cuda_fp32"):
        assert tiny[run]["rc"] == 0 and tiny[run]["timings"]["total_s"] > 0
        assert 0 <= tiny[run]["padding_share"]["intermediate"] < 1


@pytest.mark.slow
def test_the_micro_batch_benchmark_prints_its_ratio():
    done = subprocess.run([sys.executable, "bench/micro_batch.py", "--shapes", "tiny",
                           "--reps", "1", "--steps", "3", "--length", "32"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "| tiny |" in done.stdout, done.stderr[-2000:]


def test_the_fidelity_ladder_meets_its_goals_on_simulated_truth():
    """At rho 0.9 the ladder's choice is within half a point of the best set at a quarter
    of the grid's cost or less; at rho 0.3 the audit's interval refuses the screening."""
    done = subprocess.run([sys.executable, "bench/fidelity_ladder.py", "--replications", "100",
                           "--audits", "3", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = {r["rho"]: r for r in json.loads(done.stdout)}
    assert sorted(results) == [0.3, 0.6, 0.9]
    for r in results.values():
        assert {"rho", "regret_at_1", "screened_out", "cost_share",
                "audit_says_trusted"} <= set(r)
        assert 0 <= r["screened_out"] <= 1 and r["regret_at_1"] >= 0
    assert results[0.9]["regret_at_1"] <= 0.5 and results[0.9]["cost_share"] <= 0.25
    assert results[0.3]["audit_says_trusted"] is False
    low, _ = results[0.3]["spearman_interval"]
    assert low < 0.5  # the interval reaches below the trust threshold
    # a weaker cheap rung screens the best set out more often and costs more points
    assert results[0.9]["screened_out"] < results[0.6]["screened_out"] < \
        results[0.3]["screened_out"]
    assert results[0.9]["regret_at_1"] < results[0.3]["regret_at_1"]
