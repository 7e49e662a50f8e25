"""A tracking server that stops answering is waited for by a sweep's processes, and each
call goes on within a couple of seconds of the server's return (not after MLflow's
geometric backoff); a command's store gives up after its short patience; the server's
own refusals are never retried; a trial's journal tries once and holds its writes, and
delivers them all once the server is back. A real `mlflow server` on 127.0.0.1, stopped and
started again on the same port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psutil
import pytest

from sweeper import tracking
from sweeper.tracking.journal import JournalTracker
from sweeper.tracking.mlflow_store import RETRY_S
from tests.sweeps import SERVER_ENV, free_port, kill_tree, wait_healthy

pytestmark = pytest.mark.slow


def _serve(tmp_path, port: int) -> psutil.Popen:
    server = psutil.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                           "--port", str(port), "--workers", "1",
                           "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                           "--artifacts-destination", str(tmp_path / "artifacts")],
                          env={**os.environ, **SERVER_ENV},
                          start_new_session=True, stdout=open(tmp_path / "server.log", "a"),
                          stderr=subprocess.STDOUT)
    assert wait_healthy(f"http://127.0.0.1:{port}"), (tmp_path / "server.log").read_text()
    return server


def test_a_sweep_store_waits_out_a_stopped_server_and_goes_on_when_it_is_back(tmp_path):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port)
    try:
        tracker = tracking.Tracker(tracking.open_store(uri, patience_s=120), "patience")
        quick = tracking.open_store(uri, patience_s=1)
        with pytest.raises(Exception) as refused:  # the server's word: at once, not retried
            started = time.monotonic()
            tracker.run("0" * 32)
        assert time.monotonic() - started < 2 and "API request to" not in str(refused.value)
        kill_tree(server)

        done: dict[str, float | str] = {}

        def log() -> None:  # a trial's call, made while the server is down
            done["run"] = tracker.start("t", key="k", tags={})
            done["at"] = time.monotonic()

        caller = threading.Thread(target=log)
        caller.start()
        started = time.monotonic()
        with pytest.raises(Exception, match="API request to"):
            quick.experiments()  # a command gives up after its patience
        assert 0.9 < time.monotonic() - started < 5
        # a trial's journal meanwhile: one try per delivery, never a wait; all held
        journal = JournalTracker(tmp_path / "journal", tracking.open_store(uri, 0.0),
                                 "patience")
        run = journal.start("j", key="j", tags={})
        journal.log_metrics(run, {"objective": 61.0})
        journal.finish(run)
        started = time.monotonic()
        assert journal.deliver() == 3 and time.monotonic() - started < 2
        time.sleep(6)  # long enough for MLflow's own backoff to be at 8 s between tries
        assert "at" not in done
        server = _serve(tmp_path, port)
        back = time.monotonic()
        caller.join(timeout=60)
        assert "at" in done and done["at"] - back < 1.5 * RETRY_S + 4  # MLflow: 8-30 s
        assert tracker.run(str(done["run"])).status == "RUNNING"
        assert journal.deliver() == 0  # the server is back: everything goes, in order
        record = tracker.run(str(tracker.find(tracking.TRIAL_TAG, "j")))
        assert record.status == "FINISHED" and record.metrics == {"objective": 61.0}
    finally:
        kill_tree(server)
