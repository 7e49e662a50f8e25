"""A Tune run with reused workers, where a worker starts slower than a trial lasts and
one trial's first worker dies as it starts. Prints, as JSON, each trial's run (its
number, start, end, worker pid). `keep` installs sweeper.runner.actor_reuse first.

  python reuse_probe.py OUT_DIR plain|keep
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only

OUT = Path(sys.argv[1])
START_S, TRIAL_S, TRIALS = 1.5, 0.3, 24


def main() -> None:
    import ray
    from ray import tune

    class Slow(tune.Trainable):
        def setup(self, config):
            time.sleep(START_S)  # a worker's start: its imports, a fresh node
            lost = OUT / "lost"
            if config["i"] == 1 and not lost.exists():  # its first worker dies as it starts
                lost.touch()  # (in a start only: Tune does not retry a failed reset, and
                raise RuntimeError("worker lost")  # on a loaded machine trial 1 met one)
            self.i = config["i"]

        def reset_config(self, new_config):
            self.i = new_config["i"]
            return True

        def save_checkpoint(self, checkpoint_dir):
            return {"i": self.i}

        def load_checkpoint(self, checkpoint):
            pass

        def step(self):
            started = time.time()
            time.sleep(TRIAL_S)
            with open(OUT / "runs.jsonl", "a") as f:
                f.write(json.dumps([self.i, started, time.time(), os.getpid()]) + "\n")
            return {"done": True}

    if sys.argv[2] == "keep":
        from sweeper.runner.actor_reuse import keep_starting_actors

        assert keep_starting_actors()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    tune.Tuner(Slow, param_space={"i": tune.grid_search(list(range(TRIALS)))},
               tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=2),
               run_config=tune.RunConfig(storage_path=str(OUT / "storage"), verbose=0,
                                         failure_config=tune.FailureConfig(max_failures=2))
               ).fit()
    ray.shutdown()


if __name__ == "__main__":
    main()
