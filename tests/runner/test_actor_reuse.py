"""Reused workers do not leave a sweep one trial at a time (sweeper.runner.actor_reuse).
Found by the chaos run: after a trial's worker was lost, Tune gave every new worker up
for the finished trial's, before it was up, and ran the rest of the sweep one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PROBE = Path(__file__).with_name("reuse_probe.py")


def _runs(tmp_path: Path) -> dict[str, list[list]]:
    """Each trial's run (number, start, end, worker pid) under Tune's rule (`plain`) and
    with sweeper's (`keep`); the two probes run side by side (mostly waits)."""
    probes = {}
    for mode in ("plain", "keep"):
        (tmp_path / mode).mkdir()
        probes[mode] = subprocess.Popen(
            [sys.executable, str(PROBE), str(tmp_path / mode), mode], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = {}
    for mode, probe in probes.items():
        _, err = probe.communicate(timeout=300)
        assert probe.returncode == 0, err[-3000:]
        lines = (tmp_path / mode / "runs.jsonl").read_text().splitlines()
        out[mode] = [json.loads(line) for line in lines]
        assert sorted(r[0] for r in out[mode]) == list(range(24))  # every trial ran once
    return out


def _overlaps(runs: list[list]) -> int:
    return sum(1 for a in runs for b in runs if a is not b and a[1] < b[1] < a[2])


def test_the_trial_rule_keeps_a_starting_worker():
    """Installing the rule is idempotent and says whether it took."""
    from sweeper.runner.actor_reuse import keep_starting_actors

    assert keep_starting_actors() and keep_starting_actors()
    from ray.tune.execution.tune_controller import TuneController

    assert TuneController._maybe_reuse_cached_actor.keeps_starting_actors


@pytest.mark.slow
def test_a_lost_worker_is_replaced_and_trials_run_two_at_a_time_again(tmp_path):
    """Trials shorter than a worker's start, two at a time, one worker lost as it starts:
    Tune's own rule gives every new worker up before it is up and runs every later trial
    on the one worker left, one at a time; with the rule, the replacement comes up and
    runs trials beside the other."""
    runs = _runs(tmp_path)
    plain, kept = runs["plain"], runs["keep"]
    assert len({r[3] for r in plain}) == 1 and _overlaps(plain) == 0
    # the replacement came up and ran trials (beside the other worker once up; how many
    # depends on how long it took to start on a loaded machine)
    assert len({r[3] for r in kept}) == 2
