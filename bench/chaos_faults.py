"""The faults of a chaos run and their seeded schedule: each kind is one function that
injects it into the running sweep (or says it cannot yet: nothing to hit), so a schedule
drawn from one seed hits the same kinds in the same order every time."""

from __future__ import annotations

import errno
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psutil

from sweeper.runner.room import WAITING

KINDS = ("node", "actor", "tracking", "driver", "corrupt", "disk")
TRACKING_DOWN_S = 30.0
# the longest a full disk is held when no trial meets it: while trials that were stopped
# run again stages already in the cache, none writes to it (60 s went by unmet that way in
# three runs of three); once one meets it, it is freed
DISK_HELD_S = 300.0
DRIVER_UP_S = 10.0  # a driver up less long is still starting: not killed yet


@dataclass
class Target:
    """What the faults act on: the cluster, the tracking server, the driver of the
    moment (replaced on resume), the stage cache and the file system it sits on."""

    cluster: Any
    tracking: Any
    cache: Path
    disk: Path | None
    driver: Any = None
    rng: random.Random = field(default_factory=random.Random)
    down_s: float = TRACKING_DOWN_S  # how long one outage lasts
    outage_s: float = 0.0  # how long the faults kept the tracking server down, in all
    disk_full_s: float = 0.0  # ... and the cache's file system full
    # faults still held (the server down, the disk full): each call releases its fault
    # once its time has come and then says True. The sweep goes on meanwhile, and so do
    # the other faults: on a cluster they come together
    holds: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def release_due(self) -> None:
        for kind, release in list(self.holds.items()):
            if release():
                del self.holds[kind]


def schedule(seed: int, kinds: list[str], count: int, span: float) -> list[tuple[float, str]]:
    """`count` faults over `span` seconds (at least one of every kind), at seeded times
    between 10 % and 75 % of the span, in time order."""
    rng = random.Random(seed)
    chosen = list(kinds) + [rng.choice(kinds) for _ in range(max(0, count - len(kinds)))]
    rng.shuffle(chosen)
    times = sorted(rng.uniform(0.10, 0.75) * span for _ in chosen)
    return list(zip(times, chosen))


def _trial_actors(cluster: Any) -> list[psutil.Process]:
    out = []
    for node in cluster.nodes.values():
        for p in node.children(recursive=True):
            try:
                if "ImplicitFunc" in p.name() or "ImplicitFunc" in " ".join(p.cmdline()):
                    out.append(p)
            except psutil.Error:
                pass
    return out


def kill_node(t: Target) -> str | None:
    """A worker node lost (raylet -9, its trials and object store with it), then replaced."""
    busy = [n for n in sorted(t.cluster.nodes)
            if any(p in _trial_actors(t.cluster) for p in t.cluster.nodes[n].children(True))]
    if not busy:
        return None
    name = t.rng.choice(busy)
    pid = t.cluster.kill_node(name)
    replacement = t.cluster.add_node()
    return f"raylet of {name} (pid {pid}) killed -9; {replacement} joins"


def kill_actor(t: Target) -> str | None:
    """A trial's actor killed -9 (Tune retries the trial from its last checkpoint)."""
    actors = _trial_actors(t.cluster)
    if not actors:
        return None
    victim = t.rng.choice(sorted(actors, key=lambda p: p.pid))
    victim.kill()
    return f"trial actor pid {victim.pid} killed -9"


def stop_tracking(t: Target) -> str | None:
    """The tracking server down for `t.down_s` (TRACKING_DOWN_S unless told), then back on
    the same port (not yet while an outage is on)."""
    if "tracking" in t.holds:
        return None
    t.tracking.stop()
    down = time.time()

    def release() -> bool:
        if time.time() - down < t.down_s:
            return False
        t.tracking.start()
        t.outage_s += time.time() - down
        return True

    t.holds["tracking"] = release
    return f"tracking server stopped for {t.down_s:.0f} s"


def kill_driver(t: Target) -> str | None:
    """The driver killed -9 while it runs trials; the run loop resumes the sweep from a
    fresh process. Not one still starting (up less than DRIVER_UP_S, or no trial of its
    running yet): driver faults that came due while no driver ran (an outage) otherwise
    fired one after another on each new driver, each a resume that had not yet restored
    the sweep (a start and a restore take 10 to 15 s here: a kill then costs the same
    whatever the sweep's length, and finds nothing of the sweep to lose)."""
    if t.driver is None or t.driver.poll() is not None or \
            time.time() - t.driver.started < DRIVER_UP_S or not _trial_actors(t.cluster):
        return None
    pid = t.driver.pid
    psutil.Process(pid).kill()
    return f"driver pid {pid} killed -9"


def corrupt_entry(t: Target) -> str | None:
    """The largest file of a committed stage-cache entry overwritten in its middle (same
    size): the next reader must find it, quarantine it and build it again."""
    entries = sorted(p.parent for p in t.cache.glob("*/COMPLETE"))
    if not entries:
        return None
    entry = t.rng.choice(entries)
    files = [p for p in entry.rglob("*") if p.is_file()
             and p.name not in ("COMPLETE", "MANIFEST.json")]
    victim = max(files, key=lambda p: (p.stat().st_size, p.as_posix()))
    size = victim.stat().st_size
    with open(victim, "r+b") as f:
        f.seek(size // 2)
        chunk = f.read(64)
        f.seek(size // 2)
        f.write(bytes(b ^ 0xFF for b in chunk))
    return f"{entry.name[:12]}/{victim.relative_to(entry)} corrupted ({len(chunk)} bytes)"


def fill_disk(t: Target) -> str | None:
    """The stage cache's file system filled until a write fails, held until the sweep
    meets it (a trial says it waits for room, or a driver stops, exit 2) or DISK_HELD_S
    pass, then freed."""
    if t.disk is None or "disk" in t.holds or t.driver is None or t.driver.poll() is not None:
        return None  # (no sweep running to meet it: later)
    ballast, written = t.disk / ".ballast", 0
    chunk = b"\0" * (1 << 20)
    with open(ballast, "wb", buffering=0) as f:
        try:
            while True:
                written += f.write(chunk) or 0
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
    held, seen = time.time(), _output_sizes(t)

    def release() -> bool:
        met = _met_full_disk(t, seen)
        if met is None and time.time() - held < DISK_HELD_S:
            return False
        os.unlink(ballast)
        t.disk_full_s += time.time() - held
        print(f"disk freed after {time.time() - held:.0f} s: {met or 'not met yet'}",
              file=sys.stderr, flush=True)
        return True

    t.holds["disk"] = release
    return f"cache file system filled ({written >> 20} MiB), held until the sweep meets it"


def _outputs(t: Target) -> list[Path]:
    """Where a trial's lines land: the drivers' log, and each trial worker's output."""
    return [t.driver.log, *(t.cluster.trial_output() if t.cluster is not None else [])]


def _output_sizes(t: Target) -> dict[Path, int]:
    return {p: p.stat().st_size for p in _outputs(t) if p.exists()}


def _met_full_disk(t: Target, seen: dict[Path, int]) -> str | None:
    """How the sweep met the full disk, if it has: a trial waiting for room (its line in
    an output, after what `seen` holds of it) or a driver stopped on it (exit 2)."""
    if t.driver is not None and t.driver.poll() == 2:
        return "the driver stopped on it"
    for path in _outputs(t):
        with open(path, "rb") as out:
            out.seek(seen.get(path, 0))
            if WAITING.encode() in out.read():
                return "a trial waits for room"
    return None


INJECT: dict[str, Callable[[Target], str | None]] = {
    "node": kill_node, "actor": kill_actor, "tracking": stop_tracking,
    "driver": kill_driver, "corrupt": corrupt_entry, "disk": fill_disk}
