"""The stop signal: the first fatal report wins, every copy of the signal (Tune pickles
its callbacks with the Tuner) sees it, and a resumed sweep starts without it."""

from __future__ import annotations

import pickle
import uuid

from sweeper.runner.stop import StopSignal


def test_the_first_fatal_error_is_kept_and_every_copy_sees_it():
    stop = StopSignal(uuid.uuid4().hex)
    copy = pickle.loads(pickle.dumps(stop))
    assert stop.message is None
    assert copy.set("task 'xnli': column 'label' has nulls", "trial_1")
    assert not stop.set("a second error", "trial_2")
    assert (stop.message, stop.trial) == ("task 'xnli': column 'label' has nulls", "trial_1")
    stop.clear()
    assert copy.message is None and stop.message is None


def test_a_signal_is_per_sweep():
    one, other = StopSignal(uuid.uuid4().hex), StopSignal(uuid.uuid4().hex)
    one.set("disk full", "t")
    assert other.message is None
    one.clear()


def test_a_ctrl_c_is_noted_even_when_it_leaves_no_trial_unfinished():
    """Tune ends its run gracefully on SIGINT and returns as if it had ended of itself:
    a sweep stopped between one trial's end and the next one's start looked complete
    (exit 0, parent FINISHED). The callback notes the signal before Tune's handler (here
    a stand-in, installed as Tune installs its own just before) sees it, and the sweep
    then exits 130."""
    import signal
    import threading

    import cloudpickle
    import pytest

    from sweeper.cli.commands import _sweep_exit
    from sweeper.runner import stop

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are handled on the main thread only")
    seen = []
    before = signal.signal(signal.SIGINT, lambda sig, frame: seen.append(sig))
    try:
        callback = cloudpickle.loads(cloudpickle.dumps(stop.watch_interrupt()))  # as Tune
        callback.setup()
        assert not stop.INTERRUPTED.is_set()
        signal.raise_signal(signal.SIGINT)
        assert stop.INTERRUPTED.is_set() and seen == [signal.SIGINT]  # Tune's still runs
        callback.setup()  # the next run starts afresh
        assert not stop.INTERRUPTED.is_set()
    finally:
        signal.signal(signal.SIGINT, before)
    finished = {"unfinished": 0, "errored": 0}
    assert _sweep_exit({**finished, "interrupted": True}) == 130
    assert _sweep_exit({**finished, "interrupted": False}) == 0
