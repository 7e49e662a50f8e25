"""Sweep overhead: how busy the workers of a local sweep stay, and what a trial costs
beyond its own stages.

Runs a space (the quickstart by default: sample data, tiny model, 2 concurrent trials)
in a fresh temporary folder, Ray and MLflow on this machine only, and prints:

- the parallel factor: summed trial time / wall time of the trials (ideal: the number of
  concurrent trials);
- the fixed cost per trial: the time a trial holds its worker (Tune's `time_total_s`)
  minus the time its stages take (`stage_seconds` of its last report): worker
  start and imports, MLflow logging, checkpoints, waiting for a stage another trial builds.

`--baseline` runs the same space a second time with a fresh Ray worker per trial (no
reuse), in the same invocation, and prints the ratio of the two walls.

  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 python bench/sweep_overhead.py --baseline
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweeper.runner.driver import run_sweep  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[1] / "search_spaces" / "quickstart.yaml"


def trial_costs(sweep_dir: Path) -> list[dict[str, float]]:
    """Per trial: the time it held its worker and the time of its stages."""
    rows = []
    for trial in sorted(p for p in sweep_dir.iterdir() if (p / "result.json").exists()):
        last = json.loads((trial / "result.json").read_text().splitlines()[-1])
        rows.append({"held": float(last["time_total_s"]),
                     "stages": float(last.get("stage_seconds", 0.0)),
                     "trial": float(last.get("trial_seconds", 0.0))})
    return rows


def measure(space: str, reuse: bool, keep: str | None) -> dict[str, Any]:
    root = Path(keep or tempfile.mkdtemp(prefix="sweeper-overhead-"))
    root.mkdir(parents=True, exist_ok=True)
    name = "overhead-reused" if reuse else "overhead-fresh"
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        summary = run_sweep(space, name=name, storage=str(root), new=True,
                            reuse_workers=reuse)
    import ray

    ray.shutdown()
    sweep_dir = next(p for p in root.iterdir() if p.name.startswith(name))
    costs = trial_costs(sweep_dir)
    fixed = [c["held"] - c["stages"] for c in costs]
    return {"reuse_workers": reuse, "wall_s": summary["wall_seconds"],
            "trial_s": summary["trial_seconds"], "trials": summary["trials"],
            "errored": summary["errored"],
            "parallel_factor": summary["trial_seconds"] / summary["wall_seconds"],
            "fixed_cost_per_trial_s": statistics.mean(fixed) if fixed else float("nan"),
            "held_s": sum(c["held"] for c in costs),
            "stages_s": sum(c["stages"] for c in costs), "folder": str(sweep_dir)}


def show(label: str, r: dict[str, Any]) -> str:
    return (f"{label:<28} wall {r['wall_s']:6.1f} s  trials {r['trial_s']:6.1f} s summed "
            f"({r['trials']} trials, {r['errored']} errored)  parallel factor "
            f"{r['parallel_factor']:.2f}x  fixed cost per trial {r['fixed_cost_per_trial_s']:.1f} "
            f"s (mean)  stages {r['stages_s']:.1f} s of {r['held_s']:.1f} s held")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default=str(QUICKSTART))
    p.add_argument("--baseline", action="store_true",
                   help="also run with a fresh worker per trial, and print the ratio")
    p.add_argument("--keep", help="run in this folder and keep it (default: a temp folder)")
    p.add_argument("--json", help="also write the results to this file")
    opts = p.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    results = {"reused": measure(opts.space, True, opts.keep)}
    print(show("sweeper (workers reused)", results["reused"]), flush=True)
    if opts.baseline:
        results["fresh"] = measure(opts.space, False, opts.keep)
        print(show("baseline (worker per trial)", results["fresh"]), flush=True)
        print(f"wall ratio baseline/sweeper: "
              f"{results['fresh']['wall_s'] / results['reused']['wall_s']:.2f}x")
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
