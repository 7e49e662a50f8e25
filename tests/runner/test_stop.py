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
