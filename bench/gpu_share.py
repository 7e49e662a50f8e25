"""Two trials sharing one GPU through fractional resources (`resources: {gpu: 0.5}`).

Runs a two-trial sweep (tiny model, sample data) on this machine's one GPU and checks
that both trials finished, both were logged to MLflow as finished child runs, and that
their workers held the GPU at the same time (their running times overlap). Prints one
line per trial (its device, its span) and exits 1 when a check fails.

  python bench/gpu_share.py OUT_DIR             # on a machine with one NVIDIA GPU
  python bench/gpu_share.py OUT_DIR --fake-gpu  # the same sweep on a CPU, Ray told of 1 GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPACE = {
    "name": "gpu-share", "model": "tiny", "data": "sample", "targets": ["xnli"],
    "eval_languages": ["en", "sw", "hi", "de"], "objective": {"languages": "low_resource"},
    # two trials, neither waiting for the other's stage
    "intermediate": {"sets": [[], ["sst2"]]},
    "hyperparameters": {"max_train_examples": 1000, "intermediate_epochs": 1,
                        "target_epochs": 2},
    "search": {"algorithm": "grid", "max_concurrent": 2},
    "resources": {"cpu": 1, "gpu": 0.5},
}


def spans(sweep_dir: Path) -> list[dict]:
    rows = []
    for trial in sorted(p for p in sweep_dir.iterdir() if (p / "result.json").exists()):
        results = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
        last = results[-1]
        rows.append({"trial": trial.name.split("_")[3], "end": last["timestamp"],
                     "start": last["timestamp"] - last["time_total_s"],
                     "device": last.get("device", "?")})
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--fake-gpu", action="store_true",
                   help="a local Ray cluster with one pretend GPU (to try the script on a CPU)")
    opts = p.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    space = out / "gpu-share.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    from sweeper.sweep import tracking
    from sweeper.sweep.driver import run_sweep

    uri = f"sqlite:///{out / 'mlflow.db'}"
    cluster = None
    address = None
    if opts.fake_gpu:
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 1})
        address = cluster.address
    try:
        summary = run_sweep(str(space), storage=str(out / "runs"), tracking_uri=uri,
                            address=address, new=True)
    finally:
        import ray

        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
    sweep_dir = next((out / "runs").glob("gpu-share*"))
    rows = spans(sweep_dir)
    for r in rows:
        print(f"trial {r['trial']}: device {r['device']}, ran {r['end'] - r['start']:.1f} s")
    overlap = min(r["end"] for r in rows) - max(r["start"] for r in rows) if rows else 0.0
    tracker = tracking.Tracker(tracking.open_store(uri), summary["sweep"])
    children = [r for r in tracker.children(summary["parent_run_id"])
                if r.tags.get(tracking.ROLE_TAG) != "baseline"]
    finished = [r for r in children if r.status == "FINISHED"]
    checks = {"both trials finished": summary["finished"] == 2 and summary["errored"] == 0,
              "both logged as finished child runs": len(finished) == 2,
              f"their workers ran at the same time ({overlap:.1f} s overlap)": overlap > 0}
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
