"""What verifying a stage-cache entry costs: SHA-256 of a 2 GB weights file (the size of
XLM-R Large's encoder in fp32), against loading the same file with safetensors into
memory (what a trial does next with it), both from the page cache, repetitions
alternating. Prints the medians and the ratio (verify / load). The check runs once per
process and entry (sweeper.cache: a file whose size and modification time are unchanged
is not hashed again).

    python bench/cache_verify.py [--gib 2] [--reps 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sweeper.cache import file_digest  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dir", default=tempfile.gettempdir())
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "model.safetensors"
        n = int(args.gib * (1 << 30) / 4)
        save_file({"weight": torch.rand(n // 1024, 1024)}, str(path))
        size = path.stat().st_size / (1 << 30)
        hashed, loaded = [], []
        file_digest(path)  # into the page cache, as a just-written or just-used entry is
        for rep in range(args.reps):
            for what in (("hash", "load") if rep % 2 else ("load", "hash")):
                began = time.perf_counter()
                if what == "hash":
                    file_digest(path)
                else:  # read into memory, as load_state_dict copies into the model
                    tensors = {k: v.clone() for k, v in load_file(str(path)).items()}
                    del tensors
                (hashed if what == "hash" else loaded).append(time.perf_counter() - began)
    h, ld = statistics.median(hashed), statistics.median(loaded)
    print(f"{size:.2f} GiB file, {args.reps} repetitions")
    print(f"  SHA-256 (verify): median {h:.2f} s ({size / h:.2f} GiB/s)")
    print(f"  safetensors load (baseline): median {ld:.2f} s")
    print(f"ratio verify / load: {h / ld:.2f}")


if __name__ == "__main__":
    main()
