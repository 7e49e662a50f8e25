"""The benchmarks stay runnable: a short run of the training-throughput comparison over
every task type writes what the README reads (both loops' rates, the ratios)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_train_throughput_compares_every_task_type(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "bench/train_throughput.py", "--reps", "1", "--steps", "6",
         "--warmup", "2", "--batch-size", "8", "--floor", "--json", str(out),
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
