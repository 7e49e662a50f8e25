"""A trial that meets a full disk waits for room (a real tmpfs filled, then freed), and
stops at once when told not to wait."""

from __future__ import annotations

import errno
import pickle
import subprocess
import threading
import time

import pytest

from sweeper.atomic import NoSpace, disk_full, no_space
from sweeper.runner import room


@pytest.fixture
def full_disk(tmp_path):
    """A 4 MiB tmpfs, filled by a ballast file; yields (mount, ballast)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    ballast = disk / "ballast"
    try:
        with open(ballast, "wb", buffering=0) as f:
            with pytest.raises(OSError) as met:
                while True:
                    f.write(b"\0" * (1 << 16))
        assert met.value.errno == errno.ENOSPC
        yield disk, ballast
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_trial_waits_until_the_disk_has_room_then_goes_on(full_disk):
    disk, ballast = full_disk
    full = disk_full(OSError(errno.ENOSPC, "No space left on device", str(disk / "x")))
    assert isinstance(full, NoSpace) and full.mount == str(disk)
    threading.Timer(0.5, ballast.unlink).start()
    said: list[str] = []
    started = time.monotonic()
    assert room.wait_for_room(full, time.monotonic() + 30, poll_s=0.05, say=said.append)
    assert 0.4 < time.monotonic() - started < 10
    assert "waiting up to" in said[0] and str(disk) in said[0]
    assert said[1].startswith(f"sweeper: room on {disk} again")


def test_a_disk_that_stays_full_is_waited_for_only_as_long_as_told(full_disk):
    disk, _ = full_disk
    full = no_space(disk / "stage" / "model.safetensors")
    started = time.monotonic()
    assert not room.wait_for_room(full, time.monotonic() + 0.4, poll_s=0.05,
                                  say=lambda _: None)
    assert 0.3 < time.monotonic() - started < 5
    said: list[str] = []  # patience 0: the sweep stops at once, as before
    assert not room.wait_for_room(full, time.monotonic(), say=said.append) and not said


def test_a_full_store_this_process_cannot_see_is_not_waited_for(monkeypatch):
    remote = NoSpace("no space left for the tracking store http://127.0.0.1:5000")
    assert not room.wait_for_room(remote, time.monotonic() + 30, say=pytest.fail)
    monkeypatch.setenv("SWEEPER_DISK_PATIENCE_S", "12.5")
    assert room.patience() == 12.5
    monkeypatch.delenv("SWEEPER_DISK_PATIENCE_S")
    assert room.patience() == room.DISK_PATIENCE_S


def test_the_full_file_system_survives_a_pickle(tmp_path):
    """Ray sends a trial's error to the driver pickled: the mount goes with it."""
    full = no_space(tmp_path / "cache" / "x")
    again = pickle.loads(pickle.dumps(full))
    assert type(again) is NoSpace and str(again) == str(full)
    assert again.mount == full.mount and again.mount is not None
