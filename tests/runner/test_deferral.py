"""The scheduler that pauses a trial waiting for a stage another trial builds: its
decisions on Trial-like objects and a real stage cache (no Ray started)."""

from __future__ import annotations

from dataclasses import dataclass, field

from filelock import FileLock
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from sweeper.cache import StageCache
from sweeper.runner.deferral import WAITING, DeferWaiting


@dataclass
class _Trial:
    """What the scheduler reads of a Trial: its id and status."""

    trial_id: str
    status: str = Trial.RUNNING


@dataclass
class _Controller:
    """What the scheduler reads of Tune's controller: the trials, in order."""

    trials: list[_Trial] = field(default_factory=list)

    def get_trials(self) -> list[_Trial]:
        return self.trials


def test_a_waiting_trial_is_paused_until_its_entry_is_built(tmp_path):
    cache = StageCache(tmp_path / "cache")
    scheduler = DeferWaiting(None, str(cache.root))
    waiter, other = _Trial("a"), _Trial("b")
    controller = _Controller([waiter, other])
    for trial in controller.trials:
        scheduler.on_trial_add(controller, trial)
    builder = FileLock(str(cache.root / "inter-x.lock"))
    builder.acquire()  # another trial builds the entry
    assert scheduler.on_trial_result(controller, waiter, {WAITING: "inter-x"}) == \
        TrialScheduler.PAUSE
    assert scheduler.on_trial_result(controller, other, {"objective": 1.0}) == \
        TrialScheduler.CONTINUE  # the inner scheduler's decision (FIFO)
    waiter.status = Trial.PAUSED
    assert scheduler.waiting == {"a": "inter-x"}
    assert not scheduler.ready(waiter) and scheduler.ready(other)
    assert scheduler.choose_trial_to_run(controller) is None
    pending = _Trial("c", Trial.PENDING)
    controller.trials.append(pending)
    assert scheduler.choose_trial_to_run(controller) is pending  # new trials go first
    pending.status = Trial.RUNNING
    builder.release()
    cache.fetch_or_build("inter-x", lambda folder: (folder / "w.bin").write_bytes(b"w"))
    assert scheduler.choose_trial_to_run(controller) is waiter  # built: it runs again
    assert scheduler.waiting == {}


def test_a_trial_whose_builder_died_runs_again_and_builds_it(tmp_path):
    cache = StageCache(tmp_path / "cache")
    scheduler = DeferWaiting(None, str(cache.root))
    waiter = _Trial("a")
    controller = _Controller([waiter])
    builder = FileLock(str(cache.root / "baseline-k.lock"))
    builder.acquire()
    scheduler.on_trial_result(controller, waiter, {WAITING: "baseline-k"})
    waiter.status = Trial.PAUSED
    assert scheduler.choose_trial_to_run(controller) is None
    builder.release()  # the kernel frees a dead builder's lock
    assert not cache.has("baseline-k")
    assert scheduler.choose_trial_to_run(controller) is waiter


def test_a_trial_that_ends_stops_waiting(tmp_path):
    scheduler = DeferWaiting(None, str(tmp_path))
    controller = _Controller([_Trial("a"), _Trial("b"), _Trial("c")])
    for trial in controller.trials:
        scheduler.on_trial_result(controller, trial, {WAITING: f"inter-{trial.trial_id}"})
    scheduler.on_trial_error(controller, controller.trials[0])
    scheduler.on_trial_complete(controller, controller.trials[1], {})
    scheduler.on_trial_remove(controller, controller.trials[2])
    assert scheduler.waiting == {}


def test_every_other_decision_is_the_inner_scheduler_s(tmp_path):
    inner = ASHAScheduler(max_t=4, grace_period=1)
    scheduler = DeferWaiting(inner, str(tmp_path))
    assert scheduler.set_search_properties("objective", "max")
    assert scheduler.metric == "objective" == inner.metric
    assert scheduler.debug_string().endswith("Trials waiting for a stage are paused.")
    assert isinstance(DeferWaiting(None, str(tmp_path)).inner, TrialScheduler)
