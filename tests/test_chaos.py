"""Faults together on a local multi-node cluster (bench/chaos.py), and the fixes the
chaos run led to."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

SHORT_FAULTS = "actor,corrupt,driver"


@pytest.mark.slow
def test_a_short_chaos_run_loses_nothing_and_changes_no_number(tmp_path):
    """The CI form (about 2 minutes alone on 2 cores): 8 trials on a head and two worker
    nodes, the tracking server on PostgreSQL with authentication, storage on S3 (moto);
    a trial actor killed -9, a stage-cache entry corrupted, the driver killed -9 and
    resumed. Every trial finishes once, none is left RUNNING, every number and the report
    equal the fault-free run's."""
    done = subprocess.run([sys.executable, "bench/chaos.py", "--trials", "8", "--faults",
                           SHORT_FAULTS, "--seed", "0", "--json", "--keep",
                           str(tmp_path / "chaos")], cwd=ROOT, capture_output=True,
                          text=True, timeout=1500,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["fault_kinds"] == sorted(SHORT_FAULTS.split(","))
    assert result["faults_injected"] >= 3 and not result["faults_not_injected"]
    assert result["trials"] == 8 and result["lost"] == 0 and result["duplicates"] == 0
    assert result["running_left"] == 0 and result["numbers_equal"]
    assert result["report_identical"] and result["stages_retrained_unexplained"] == 0
    assert result["resumes"] >= 1 and result["overhead"] > 0
    assert 0 < result["trial_mean_s"] < result["wall_reference_s"]  # what the ratio rests on


def _tied_rows(first: str, second: str):
    """Two finished trials with the same numbers everywhere, ids `first` and `second`."""
    import pandas as pd

    rows = []
    for trial_id, tasks, chain in ((first, "mnli,qqp", 1), (second, "hausa_voa_topics,qqp", 0)):
        for split in ("dev", "test"):
            for lang, tier in (("en", "high"), ("sw", "low")):
                rows.append({"trial_id": trial_id, "tasks": tasks, "k": 2, "seed": 0,
                             "chain": chain, "split": split, "language": lang, "tier": tier,
                             "score": 40.0, "gain": 1.0, "status": "finished",
                             "protocol": "zero_shot", "comparable": True})
    return pd.DataFrame(rows)


def test_the_selected_trial_does_not_depend_on_run_ids():
    """Found by the chaos run: two trials tied on dev were picked by their run ids (random
    per run), so a resumed sweep's report named another trial than the fault-free run's.
    Ties now go by the trial itself (fewest tasks, then tasks, seed, chain)."""
    from sweeper.report.sections import selected

    one = selected(_tied_rows("0aaa", "ffff"))
    other = selected(_tied_rows("ffff", "0aaa"))
    for protocol in ("english_dev", "target_dev"):
        assert one[protocol]["tasks"] == other[protocol]["tasks"] == "hausa_voa_topics,qqp"


def test_a_full_disk_is_named_where_it_is_full(tmp_path):
    """Found by the chaos run: the stage cache's file system was full, and the one line
    named the trial's folder on another, roomy disk (the error named no file, and the
    trial's folder was named first). It now names the place on the full disk."""
    from sweeper.atomic import disk_full

    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        try:
            (full / "ballast").write_bytes(b"\0" * (2 << 20))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        roomy.mkdir()
        for exc in (OSError(errno.ENOSPC, "No space left on device"),
                    RuntimeError("safetensors: No space left on device (os error 28)")):
            message = str(disk_full(exc, roomy / "trial", full / "cache"))
            assert f"no space left on {full}" in message and str(full / "cache") in message
        named = OSError(errno.ENOSPC, "No space left on device", str(roomy / "x"))
        assert str(roomy / "x") in str(disk_full(named, full / "cache"))  # the file it names
    finally:
        subprocess.run(["umount", "-l", str(full)], capture_output=True)


def test_a_trial_stopped_then_finished_by_a_resume_counts_as_finished():
    """Found by the chaos run: a trial whose worker was stopped when its driver was killed
    was tagged stopped_early; the resume finished it, but the tag stayed and the report
    counted it as stopped, so its numbers left every curve. Reopening a run resets it."""
    from sweeper.report.results import status_of
    from sweeper.tracking import Tracker
    from sweeper.tracking.memory import MemoryStore

    tracker = Tracker(MemoryStore(), "resumed")
    run = tracker.start(name="1 chain 0: qqp | seed 0", key="s:t1", tags={})
    tracker.set_tags(run, {"stopped_early": "true"})
    tracker.finish(run, "KILLED")
    assert tracker.start(name="1 chain 0: qqp | seed 0", key="s:t1", tags={}) == run
    tracker.finish(run)
    record = tracker.run(run)
    assert status_of({"tags": record.tags, "status": record.status}) == "finished"


def _bench(name: str):
    import importlib

    sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module(name)


def test_a_fault_with_nothing_to_hit_waits_without_holding_back_the_next(monkeypatch):
    """Found by the chaos run: a node fault due while no trial ran (the driver was down
    through an outage) held back every fault after it, and they then fired one after
    another, killing two drivers still starting. A fault with nothing to hit now waits
    alone."""
    chaos, faults = _bench("chaos"), _bench("chaos_faults")
    monkeypatch.setitem(faults.INJECT, "node", lambda t: None)
    monkeypatch.setitem(faults.INJECT, "actor", lambda t: "trial actor killed -9")
    pending = [(1.0, "node"), (2.0, "actor"), (9.0, "driver")]
    target = faults.Target(cluster=None, tracking=None, cache=ROOT, disk=None)
    assert chaos._inject_due(target, pending, 0.5) is None  # none due yet
    fault = chaos._inject_due(target, pending, 3.0)
    assert fault == {"kind": "actor", "at_s": 3.0, "what": "trial actor killed -9"}
    assert pending == [(1.0, "node"), (9.0, "driver")]
    assert chaos._inject_due(target, pending, 4.0) is None  # the node fault still waits


def test_an_outage_is_held_while_the_run_goes_on_and_released_on_time():
    """The tracking server's outage no longer holds the injection loop: it is a held
    fault, released (the server started again) once its time has passed; a second one
    waits until the first is over."""
    import time

    faults = _bench("chaos_faults")

    class Server:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def stop(self) -> None:
            self.calls.append("stop")

        def start(self) -> None:
            self.calls.append("start")

    server = Server()
    target = faults.Target(cluster=None, tracking=server, cache=ROOT, disk=None, down_s=0.3)
    started = time.time()
    assert faults.stop_tracking(target) == "tracking server stopped for 0 s"
    assert time.time() - started < 0.2 and "tracking" in target.holds  # returned at once
    assert faults.stop_tracking(target) is None  # one outage at a time
    target.release_due()
    assert server.calls == ["stop"]
    time.sleep(0.35)
    target.release_due()
    assert server.calls == ["stop", "start"] and not target.holds
    assert 0.3 <= target.outage_s < 1.0


def test_a_driver_still_starting_is_not_killed_yet():
    """Found by the chaos run: driver faults that came due while no driver ran fired one
    after another on each new driver, every one a resume that had not yet restored the
    sweep. A driver is killed once it has been up DRIVER_UP_S and trials run."""
    import time

    import psutil

    faults = _bench("chaos_faults")

    class Driver:
        pid = -1

        def __init__(self, started: float) -> None:
            self.started = started

        def poll(self) -> None:
            return None

    class Actor:
        def __init__(self, name: str) -> None:
            self._name = name

        def name(self) -> str:
            return self._name

        def cmdline(self) -> list[str]:
            return [self._name]

    class Node:
        def __init__(self, *names: str) -> None:
            self.processes = [Actor(n) for n in names]

        def children(self, recursive: bool = False) -> list[Actor]:
            return self.processes

    class Cluster:
        nodes = {"worker1": Node("raylet")}

    target = faults.Target(cluster=Cluster(), tracking=None, cache=ROOT, disk=None,
                           driver=Driver(time.time()))
    assert faults.kill_driver(target) is None  # still starting
    target.driver = Driver(time.time() - faults.DRIVER_UP_S - 1)
    assert faults.kill_driver(target) is None  # up, but no trial of its runs yet
    Cluster.nodes["worker1"] = Node("raylet", "ray::ImplicitFunc.train")
    with pytest.raises((ValueError, psutil.Error)):  # killed (pid -1: no such process)
        faults.kill_driver(target)


def test_ports_drawn_together_are_never_the_same():
    """Found by a run of the suite: the ports drawn for one Ray head, none of them bound
    yet, came out the same twice and the head refused to start. A process now never
    hands out a port twice, and each is free and below the kernel's ephemeral range."""
    from sweeps import _ephemeral_low, free_port

    ports = [free_port() for _ in range(400)]
    assert len(set(ports)) == len(ports)
    if _ephemeral_low() > 21000:  # (else the kernel picks them)
        assert all(20000 <= p < _ephemeral_low() for p in ports)


def test_the_full_disk_is_freed_once_a_trial_waits_for_room_and_its_build_is_counted(tmp_path):
    """A full disk no longer stops the sweep: the trial that meets it waits for room. The
    chaos run frees the disk once that trial says so (or its driver stopped on it), and
    counts the stage its build met the disk on as trained twice, for a reason."""
    faults, check = _bench("chaos_faults"), _bench("chaos_check")
    log = tmp_path / "chaos.log"
    log.write_text("=== 10:00:00 sweeper run\n")

    class Driver:
        def __init__(self, rc) -> None:
            self.log, self.rc = log, rc

        def poll(self):
            return self.rc

    class Cluster:  # a worker node's trial output (its lines reach no driver here)
        def trial_output(self):
            return [tmp_path / "worker-1.out"]

    out = tmp_path / "worker-1.out"
    out.write_text(":actor_name:sweeper_trial\n")
    target = faults.Target(cluster=Cluster(), tracking=None, cache=tmp_path, disk=None,
                           driver=Driver(None))
    seen = faults._output_sizes(target)
    assert faults._met_full_disk(target, seen) is None
    line = ("sweeper: no space left on /d (writing /d/cache/.baseline-d02e580ff43e.93b36528"
            ".tmp/trial/stages/config.json): free some, then `sweeper resume` continues a "
            "sweep; waiting up to 598 s for room (SWEEPER_DISK_PATIENCE_S), then the sweep "
            "stops\n")
    with open(out, "a") as worker:
        worker.write(line)
    with open(log, "a") as driver:  # (where a log monitor forwards it: the same build)
        driver.write(f"(sweeper_trial pid=7, ip=127.0.0.1) {line}")
    assert faults._met_full_disk(target, seen) == "a trial waits for room"
    assert faults._met_full_disk(target, faults._output_sizes(target)) is None  # only news
    stopped = faults.Target(None, None, tmp_path, None, driver=Driver(2))
    assert faults._met_full_disk(stopped, faults._output_sizes(stopped)) == \
        "the driver stopped on it"
    (tmp_path / "baseline-d02e580ff43e").mkdir()
    (tmp_path / "baseline-d02e580ff43e" / "COMPLETE").write_text("")
    builds = check.stage_builds(tmp_path, [log, out])
    assert builds == {"baseline-d02e580ff43e": {"committed": 1, "disk_full": 1}}
    assert check.full_disk_waits([out]) == 1  # (the trial's own output: one line a wait)
