"""A trial that meets a full disk waits for room, as its processes wait for a tracking
server that stops answering, and goes on where it was once there is room: a disk filled
for a while (a neighbour's scratch files, a log that grew) costs the stage that met it,
not the sweep. Past SWEEPER_DISK_PATIENCE_S (600 s by default, a runtime setting of each
node; 0 stops at once) the sweep stops with the one-line error, as it did before, and
`sweeper resume` continues it once the disk is freed.

Room means the file system's free space grew since the write failed (by 1 % of its size,
at least 16 MiB and at most 1 GiB, or by half what was used where that is less): the work
that met the full disk is done again where it has a chance to be written, not at every
poll.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Callable

from sweeper.atomic import NoSpace
from sweeper.errors import one_line

DISK_PATIENCE_S = 600.0  # default of SWEEPER_DISK_PATIENCE_S
POLL_S = 2.0
ROOM_BYTES = (16 << 20, 1 << 30)  # the least and most free space that counts as room
WAITING = "for room (SWEEPER_DISK_PATIENCE_S)"  # in the line a waiting trial prints


def _say(line: str) -> None:
    print(line, flush=True)


def patience() -> float:
    """How long a trial waits, in all, for room on a full disk (this node's setting)."""
    return float(os.environ.get("SWEEPER_DISK_PATIENCE_S", DISK_PATIENCE_S))


def wait_for_room(full: NoSpace, until: float, poll_s: float = POLL_S,
                  clock: Callable[[], float] = time.monotonic,
                  say: Callable[[str], None] = _say) -> bool:
    """Wait until the file system `full` names has room again: True then, False when the
    clock reaches `until` first (or `full` names no file system this process can see)."""
    if full.mount is None or clock() >= until:
        return False
    try:
        usage = shutil.disk_usage(full.mount)
    except OSError:
        return False
    wanted = usage.free + min(max(ROOM_BYTES[0], usage.total // 100), ROOM_BYTES[1],
                              (usage.total - usage.free) // 2)
    say(f"sweeper: {one_line(full)}; waiting up to {until - clock():.0f} s {WAITING}, "
        "then the sweep stops")
    while clock() < until:
        time.sleep(min(poll_s, max(0.0, until - clock())))
        try:
            free = shutil.disk_usage(full.mount).free
        except OSError:
            return False
        if free >= wanted:
            say(f"sweeper: room on {full.mount} again ({free >> 20} MiB free): the trial "
                "goes on from its last finished stage")
            return True
    return False
