"""The micro-batch lever on the CPU: the same effective batch (32 examples per optimizer
step) computed as 4 x 8 (jiant's 4 per micro-batch, 8 accumulated) and with the auto
micro-batch (the whole batch on a CPU), for the tiny and small shapes; repetitions
alternate between the two, and the script prints each one's median examples/s and the
median ratio (auto / 4 x 8) with its spread. The same numbers either way (the loss is
normalised over the effective batch: tests/model/test_train.py); only the speed differs.

    python bench/micro_batch.py [--shapes tiny,small] [--reps 5] [--steps 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_check import PAD, encoder, synthetic, with_heads  # noqa: E402

from sweeper import tasktypes  # noqa: E402
from sweeper.model.train import TrainArgs, TrainTask, train  # noqa: E402


def examples_per_s(model, table, micro: int | None, steps: int) -> float:
    kind = tasktypes.get("pair_classification")
    args = TrainArgs.of(epochs=None, max_steps=steps, batch_size=32, lr=1e-4, micro_batch=micro,
                     log_every=10**6)
    began = time.perf_counter()
    train(model, [TrainTask("pair_classification", kind, table, "x")], args, pad_id=PAD,
          device=torch.device("cpu"), desc="bench")
    return 32 * steps / (time.perf_counter() - began)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default="tiny,small")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--length", type=int, default=128)
    opts = p.parse_args()
    print("| shape | 4 x 8 ex/s | auto (32 x 1) ex/s | auto / 4 x 8 [min..max] |")
    print("|---|---:|---:|---:|")
    for shape in opts.shapes.split(","):
        model = with_heads(encoder(shape, 3000), ["pair_classification"])
        table = synthetic("pair_classification", 32 * (opts.steps + 1), opts.length, 3000)
        runs: dict[str, list[float]] = {"4x8": [], "auto": []}
        for rep in range(opts.reps + 1):  # repetition 0 warms up and is not counted
            for name in (("4x8", "auto") if rep % 2 else ("auto", "4x8")):
                rate = examples_per_s(model, table, 4 if name == "4x8" else None, opts.steps)
                if rep:
                    runs[name].append(rate)
        ratios = [a / b for a, b in zip(runs["auto"], runs["4x8"])]
        print(f"| {shape} | {statistics.median(runs['4x8']):.0f} | "
              f"{statistics.median(runs['auto']):.0f} | {statistics.median(ratios):.2f}x "
              f"[{min(ratios):.2f}..{max(ratios):.2f}] |", flush=True)


if __name__ == "__main__":
    main()
