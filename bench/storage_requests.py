"""Requests a sweep makes of its storage on S3: Ray Tune's writes, through pyarrow's own
S3 file system (Tune's default: the baseline) and through the sweep's storage file system
(sweeper.storage.open_fs + sweeper.runner.object_store), against an S3 server (moto) on
127.0.0.1, in the same run; prints both counts and their ratio.

Tune's writes, as Tune makes them (its own upload function): trials run two at a time and
report `--results` times each; at every report the trial's worker uploads a checkpoint
(`--files` small files: stage markers, the XTREME export) and the driver copies its whole
staging folder (every trial's results and parameters, the experiment state) to the
storage. The same files arrive either way (checked).

    python bench/storage_requests.py [--trials 20] [--results 3] [--files 25]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sweeps import kill_tree, s3_requests, serve_s3  # noqa: E402

FOLDERS = ("stages", "tracking", "xtreme/labels/xnli", "xtreme/predictions/xnli")


def _write_sweep(fs, root: str, work: Path, trials: int, results: int, files: int) -> None:
    """Tune's writes of a sweep of `trials` trials, two at a time, to (fs, root)."""
    from ray.train._internal.storage import _upload_to_fs_path

    from sweeper.runner.state_fs import flush

    staging = work / "staging"
    for pair in range(0, trials, 2):
        for result in range(1, results + 1):
            for trial in range(pair, min(pair + 2, trials)):
                folder = staging / f"sweeper_trial_{trial:03d}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "params.json").write_text(json.dumps({"trial": trial}))
                (folder / "result.json").write_text(
                    "".join(json.dumps({"iteration": i, "objective": 0.5}) + "\n"
                            for i in range(result)))
                checkpoint = work / "checkpoint"
                for f in range(files):  # in folders as a trial's: stages, XTREME export
                    name = checkpoint / FOLDERS[f % len(FOLDERS)] / f"stage-{f}.tsv"
                    name.parent.mkdir(parents=True, exist_ok=True)
                    name.write_text(f"{trial}\t{result}\n" * 50)
                _upload_to_fs_path(str(checkpoint), fs, f"{root}/{folder.name}/"
                                   f"checkpoint_{result - 1:06d}")
                (staging / "experiment_state-0.json").write_text(str((trial, result)))
                _upload_to_fs_path(str(staging), fs, root)
    flush(120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--results", type=int, default=3, help="reports (and checkpoints) a trial")
    p.add_argument("--files", type=int, default=25, help="files in a checkpoint")
    args = p.parse_args()
    import os

    import pyarrow.fs as pafs

    from sweeper import tracking
    from sweeper.runner.state_fs import Record, recording_fs
    from sweeper.storage import SweepFolder
    from sweeper.tracking.memory import MemoryStore

    work = Path(tempfile.mkdtemp(prefix="sweeper-s3-"))
    server, env = serve_s3(work)
    os.environ.update(env)
    try:
        tracker = tracking.Tracker(MemoryStore(), "sweep")
        record = Record("unused://", "sweep", tracker.start("sweep", "s:sweep", {}),
                        tracker=tracker)
        plain, plain_root = pafs.FileSystem.from_uri("s3://sweeps/runs/plain")
        folder = SweepFolder("s3://sweeps/runs", "sweeper")
        ours = recording_fs(folder.fs, folder.root, record)
        used = {}
        for name, fs, root in (("pyarrow (Tune's default)", plain, plain_root),
                               ("sweeper", ours, folder.root)):
            start = s3_requests(work / "moto.log")
            _write_sweep(fs, root, work / name.split()[0], args.trials, args.results,
                         args.files)
            used[name] = s3_requests(work / "moto.log") - start
        for rel in ("sweeper_trial_000/result.json", "experiment_state-0.json",
                    f"sweeper_trial_000/checkpoint_{args.results - 1:06d}/stages/stage-0.tsv"):
            same = folder.fs.open_input_stream(f"{plain_root}/{rel}").read() == \
                folder.fs.open_input_stream(f"{folder.root}/{rel}").read()
            if not same:
                raise SystemExit(f"the storages differ at {rel}")
    finally:
        kill_tree(server)
    base, mine = used["pyarrow (Tune's default)"], used["sweeper"]
    print(f"{args.trials} trials x {args.results} reports, {args.files} files a checkpoint")
    for name, n in used.items():
        print(f"  {name:<26} {n:>7} requests")
    print(f"  ratio (pyarrow / sweeper)  {base / mine:7.2f}x fewer requests")


if __name__ == "__main__":
    main()
