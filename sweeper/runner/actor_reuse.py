"""A trial keeps the worker being started for it, so that reused workers do not leave
the sweep one trial at a time.

With `reuse_actors`, Ray Tune hands a finished trial's worker (actor) to the next
pending trial, and a pending trial whose own worker already holds its resources and is
starting gives that worker up for the cached one (`_maybe_reuse_cached_actor`). Where a
trial finishes faster than a worker starts (short trials; a worker lost with its node and
replaced on a fresh one, where it imports everything anew), every new worker is given up
before it is up: once one worker is lost, the sweep runs one trial at a time to its end.
The chaos run met it (bench/chaos.py: after a trial actor was killed, the driver ran its
last 38 trials one by one where two were allowed, 133 s where the fault-free run took 84).

`keep_starting_actors` makes a trial whose worker holds its resources keep it; the cached
worker goes to the next trial staged (a trial still waiting for resources takes it, as
before, so a cluster whose only free resources are the cached worker's cannot stall).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


def keep_starting_actors() -> bool:
    """Installs the rule on Tune's controller (idempotent). False, with a warning, where
    the installed Ray has no such method (the rule is then Tune's own)."""
    from ray.tune.execution.tune_controller import TuneController

    reuse = getattr(TuneController, "_maybe_reuse_cached_actor", None)
    if reuse is None:
        log.warning("Ray Tune has no _maybe_reuse_cached_actor: workers are reused as Tune "
                    "decides")
        return False
    if getattr(reuse, "keeps_starting_actors", False):
        return True

    @functools.wraps(reuse)
    def maybe_reuse(self: Any, trial: Any) -> bool:
        own = self._trial_to_actor.get(trial)
        if (own is not None and trial not in self._resetting_trials
                and self._actor_manager.is_actor_started(own)):
            return False  # its worker holds its resources and is on its way: keep it
        return reuse(self, trial)

    maybe_reuse.keeps_starting_actors = True  # type: ignore[attr-defined]
    TuneController._maybe_reuse_cached_actor = maybe_reuse
    return True
