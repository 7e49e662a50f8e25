"""Faults together, at cluster scale, measured: a seeded chaos run on a local Ray cluster.

Starts, on 127.0.0.1 only, a Ray head and two worker nodes (each its own process, CPUs
and temp folder), the cluster's tracking server (PostgreSQL under MLflow's authentication
app) and an S3 server (moto) for the sweeps' storage (bench/chaos_infra.py). Runs a chain
sweep (tiny model, sample data, two targets, one stage cache shared by the nodes) once
without faults, then again under a seeded schedule of faults (bench/chaos_faults.py):
worker nodes lost (raylet -9, replaced), trial actors killed -9, the tracking server down
for 30 s, the driver killed -9 and resumed from a fresh process, a stage-cache entry
corrupted, the cache's file system filled until writes fail and freed (the trial that met
it waits for room, and goes on). Then checks the invariants (bench/chaos_check.py) and
prints them as a table (and with --json as JSON on stdout).

  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 python bench/chaos.py --trials 40 --seed 0
  python bench/chaos.py --trials 8 --faults actor,corrupt,driver --json   # the CI form
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_check import check, normalized_report  # noqa: E402
from chaos_faults import INJECT, KINDS, TRACKING_DOWN_S, Target, schedule  # noqa: E402
from chaos_infra import (  # noqa: E402
    ROOT,
    RayCluster,
    S3Server,
    TrackingServer,
    mount_tmpfs,
    unmount,
)

STORAGE = "s3://sweeps/runs"
POOL = ["mnli", "sst2", "qqp", "swahili_news", "hausa_voa_topics"]
MAX_RESUMES = 10
OVERHEAD_GOAL = 1.6  # chaos wall time over the fault-free run's, for 40 trials


def write_space(path: Path, trials: int, epochs: int = 1) -> Path:
    """Chains over a pool of 5 tasks: `trials` trials (rounded up to whole chains), sets
    shared between chains, so that trials share stages through the cache; each stage
    trains for `epochs` epochs (what sets a trial's length)."""
    import yaml

    length = 2 if trials <= 8 else 4
    raw = {"name": "chaos", "model": "tiny", "data": "sample", "targets": ["xnli", "tatoeba"],
           "eval_languages": ["en", "sw", "hi", "de"],
           "objective": {"languages": "low_resource"},
           "intermediate": {"chains": {"pool": POOL, "length": length,
                                       "permutations": -(-trials // length)}},
           "hyperparameters": {"max_train_examples": 120, "max_eval_examples": 30,
                               "intermediate_epochs": epochs, "target_epochs": epochs},
           "seeds": [0], "search": {"algorithm": "grid", "max_concurrent": 2},
           "resources": {"cpu": 1, "gpu": 0}}
    path.write_text(yaml.safe_dump(raw))
    return path


class Driver:
    """A `sweeper` driver process (run or resume) on the cluster, its output in a log."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        with open(log, "a") as out:  # each driver's output headed by when it started
            out.write(f"=== {time.strftime('%H:%M:%S')} sweeper {' '.join(args[:2])}\n")
            out.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "sweeper.cli", *args],
                                         cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        self.started = time.time()

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        """The driver and whatever it started, by its process group."""
        try:
            os.killpg(self.pid, 9)
        except OSError:
            pass
        self.proc.wait()


def run_reference(env: dict[str, str], space: Path, work: Path, address: str, uri: str
                  ) -> float:
    """The fault-free sweep, to its end; its wall time."""
    started = time.time()
    driver = Driver(env, work / "reference.log", "run", str(space), "--name", "chaos-ref",
                    "--storage", STORAGE, "--cache", str(work / "cache-ref"),
                    "--tracking-uri", uri, "--address", address)
    if driver.proc.wait() != 0:
        raise RuntimeError(f"the fault-free sweep failed: see {driver.log}")
    return time.time() - started


def run_chaos(env: dict[str, str], space: Path, work: Path, target: Target,
              plan: list[tuple[float, str]], address: str, uri: str) -> dict[str, Any]:
    """The same sweep under the fault plan; every stopped driver resumed from a fresh
    process. What was injected, the resumes, the wall time."""
    log = work / "chaos.log"
    started, resumes, injected, drivers = time.time(), 0, [], []
    target.driver = Driver(env, log, "run", str(space), "--name", "chaos-run", "--storage",
                           STORAGE, "--cache", str(target.cache), "--tracking-uri", uri,
                           "--address", address)
    pending = list(plan)
    while True:
        target.release_due()
        rc = target.driver.poll()
        if rc is not None and len(drivers) == resumes:  # when each driver ran, and how it ended
            drivers.append({"started_s": round(target.driver.started - started, 1),
                            "ended_s": round(time.time() - started, 1), "rc": rc})
        if rc == 0:
            break
        if rc is not None and "tracking" not in target.holds:  # resumed once it answers
            resumes += 1
            if resumes > MAX_RESUMES:
                raise RuntimeError(f"the chaos sweep did not finish: see {log}")
            target.driver = Driver(env, log, "resume", "chaos-run", "--storage", STORAGE,
                                   "--address", address)
        fault = _inject_due(target, pending, time.time() - started)
        if fault is not None:
            injected.append(fault)
            print(f"fault {len(injected)}: {fault['kind']}: {fault['what']}", file=sys.stderr,
                  flush=True)
        time.sleep(0.5)
    wall = time.time() - started
    while target.holds:  # (the sweep ended with a fault held: released as planned)
        target.release_due()
        time.sleep(0.5)
    return {"injected": injected, "not_injected": [k for _, k in pending],
            "resumes": resumes, "drivers": drivers, "wall_s": wall, "outage_s": target.outage_s,
            "disk_full_s": target.disk_full_s}


def _inject_due(target: Target, pending: list[tuple[float, str]], now: float
                ) -> dict[str, Any] | None:
    """The first fault whose time has come that finds something to hit, injected and
    taken off `pending` (one per call). A fault with nothing to hit yet (no trial running
    for a node or an actor, no driver, an outage already on) waits without holding back
    the ones after it: faults held back that way used to fire one after another once it
    went in, killing drivers that were still starting."""
    for i, (at, kind) in enumerate(pending):
        if now < at:
            return None
        what = INJECT[kind](target)
        if what is not None:
            del pending[i]
            return {"kind": kind, "at_s": round(now, 1), "what": what}
    return None


def report_of(env: dict[str, str], name: str, uri: str, out: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "sweeper.cli", "report", name,
                           "--tracking-uri", uri, "--storage", STORAGE, "--out", str(out),
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return f"report failed: {done.stderr[-500:]}"
    return normalized_report(json.loads(done.stdout), name)


def _environment(tracking: TrackingServer, s3: S3Server) -> dict[str, str]:
    """What every driver gets: credentials, S3, offline data, Ray on loopback."""
    return {**os.environ, **tracking.env, **s3.env, "PYTHONPATH": str(ROOT),
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _services(work: Path) -> tuple[RayCluster, TrackingServer, S3Server]:
    """The cluster, the tracking server and S3, started side by side (each is mostly a
    wait on process start-ups); if one fails, the others are stopped."""
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(RayCluster, work / "ray"),
                   pool.submit(TrackingServer, work / "tracking"), pool.submit(S3Server, work)]
    failed = [f.exception() for f in futures if f.exception() is not None]
    if failed:
        _stop_all(*(f.result() for f in futures if f.exception() is None))
        raise failed[0]
    cluster, tracking, s3 = (f.result() for f in futures)
    return cluster, tracking, s3


def _stop_all(*services: Any) -> None:
    """Stop the services side by side (each mostly waits on its processes' ends); the
    first failure to stop one is raised once all have been tried."""
    live = [s for s in services if s is not None]
    with ThreadPoolExecutor(max(1, len(live))) as pool:
        futures = [pool.submit(getattr(s, "close", s.stop)) for s in live]
    failed = [f.exception() for f in futures if f.exception() is not None]
    if failed:
        raise failed[0]


def _say(started: float, what: str) -> None:
    print(f"[{time.time() - started:6.1f} s] {what}", file=sys.stderr, flush=True)


def run_all(work: Path, trials: int, kinds: list[str], count: int, seed: int,
            epochs: int = 1, outage_s: float = TRACKING_DOWN_S) -> dict[str, Any]:
    """Services up, the fault-free sweep, the chaos sweep, the invariants; all down."""
    space = write_space(work / "chaos.yaml", trials, epochs)
    disk = work / "disk" if "disk" in kinds else None
    if disk is not None and not mount_tmpfs(disk, "256m"):
        raise SystemExit("the disk fault needs a tmpfs (root or CAP_SYS_ADMIN): leave "
                         "`disk` out of --faults here")
    cluster = tracking = s3 = target = None
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    started = time.time()
    try:
        cluster, tracking, s3 = _services(work)
        _say(started, "cluster, tracking server and S3 up")
        os.environ.update(tracking.env)  # this process reads the store afterwards
        env = _environment(tracking, s3)
        asked = [s3.requests()]
        reference_s = run_reference(env, space, work, cluster.address, tracking.url)
        asked.append(s3.requests())
        _say(started, "fault-free sweep done")
        cache = (disk or work) / "cache"
        target = Target(cluster, tracking, cache, disk, rng=random.Random(seed),
                        down_s=outage_s)
        plan = schedule(seed, kinds, count, reference_s)
        chaos = run_chaos(env, space, work, target, plan, cluster.address, tracking.url)
        asked.append(s3.requests())
        _say(started, "chaos sweep done")
        with ThreadPoolExecutor(2) as pool:
            reports = tuple(pool.map(lambda name: report_of(env, name, tracking.url,
                                                            work / f"report-{name}"),
                                     ("chaos-ref", "chaos-run")))
        found = check(tracking.url, "chaos-ref", "chaos-run", cache, reports,
                      [work / "chaos.log", *cluster.trial_output()])
        _say(started, "invariants checked")
        if not found["report_identical"]:
            (work / "report-ref.json").write_text(reports[0])
            (work / "report-run.json").write_text(reports[1])
    finally:
        if target is not None and target.driver is not None:
            target.driver.stop()
        _stop_all(cluster, tracking, s3)
        if disk is not None:
            unmount(disk)
        _say(started, "all stopped")
    return {"seed": seed, "epochs": epochs, "outage_len_s": outage_s,
            "faults_injected": len(chaos["injected"]),
            "fault_kinds": sorted({f["kind"] for f in chaos["injected"]}), **found,
            "overhead": round(chaos["wall_s"] / reference_s, 3),
            # how long the faults held the tracking server down and the cache's disk full
            # (the sweep's trials train on through an outage, and wait a full disk out)
            "tracking_outage_s": round(chaos["outage_s"], 1),
            "disk_full_s": round(chaos["disk_full_s"], 1),
            "wall_reference_s": round(reference_s, 1), "wall_chaos_s": round(chaos["wall_s"], 1),
            # requests the storage (S3) answered in each sweep
            "s3_requests": {"reference": asked[1] - asked[0], "chaos": asked[2] - asked[1]},
            "resumes": chaos["resumes"], "drivers": chaos["drivers"],
            "faults": chaos["injected"],
            "faults_not_injected": chaos["not_injected"]}


def table(result: dict[str, Any]) -> str:
    """The invariants, one per line, with whether each held (the overhead: whether its
    goal was met; a goal, not an invariant, it does not fail the run)."""
    rows = [("faults injected", result["faults_injected"], result["faults_injected"] >= 1),
            ("fault kinds", ",".join(result["fault_kinds"]), True),
            ("trials", result["trials"], result["trials"] >= 1),
            ("lost", result["lost"], result["lost"] == 0),
            ("duplicate child runs", result["duplicates"], result["duplicates"] == 0),
            ("runs left RUNNING", result["running_left"], result["running_left"] == 0),
            ("numbers equal to the fault-free run", result["numbers_equal"],
             result["numbers_equal"]),
            ("stages trained twice (builder died / corrupted / disk full)",
             len(result["stages_retrained"]), result["stages_retrained_unexplained"] == 0),
            ("trials that waited for room on the full disk", result["full_disk_waits"],
             True),
            ("report identical", result["report_identical"], result["report_identical"]),
            ("driver resumes", result["resumes"], True),
            ("fault-free trial, mean (s)", result["trial_mean_s"], True),
            ("wall: fault-free / chaos (s)",
             f"{result['wall_reference_s']:.0f} / {result['wall_chaos_s']:.0f}", True),
            (f"overhead (goal <= {OVERHEAD_GOAL}x)", f"{result['overhead']:.2f}x",
             "met" if result["overhead"] <= OVERHEAD_GOAL else "not met"),
            ("S3 requests: fault-free / chaos",
             f"{result['s3_requests']['reference']} / {result['s3_requests']['chaos']}", True),
            ("tracking down / disk full (s)",
             f"{result['tracking_outage_s']:.0f} / {result['disk_full_s']:.0f}", True)]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {str(value):>14}  "
                     f"{good if isinstance(good, str) else 'ok' if good else 'FAILED'}"
                     for name, value, good in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="the fault schedule's seed")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--faults", default=",".join(KINDS),
                        help=f"fault kinds, comma-separated, of {','.join(KINDS)}")
    parser.add_argument("--count", type=int, help="faults in all (default: 2 per kind for "
                        "40 trials or more, else 1 per kind)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of every training "
                        "stage: how long a trial is, and so what share of the sweep the "
                        "faults' fixed durations (30 s outages, the disk held full) take")
    parser.add_argument("--outage-s", type=float, default=TRACKING_DOWN_S,
                        help="how long each tracking outage lasts")
    parser.add_argument("--json", action="store_true", help="the result as JSON on stdout")
    parser.add_argument("--keep", help="work in this folder and keep it")
    args = parser.parse_args(argv)
    kinds = [k for k in args.faults.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown fault kinds {unknown}: choose among {', '.join(KINDS)}")
    count = args.count or len(kinds) * (2 if args.trials >= 40 else 1)
    work = Path(args.keep or tempfile.mkdtemp(prefix="sweeper-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    result = run_all(work, args.trials, kinds, count, args.seed, args.epochs, args.outage_s)
    print(table(result), file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    good = (result["lost"] == 0 and result["duplicates"] == 0 and result["running_left"] == 0
            and result["numbers_equal"] and result["report_identical"]
            and result["stages_retrained_unexplained"] == 0)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
