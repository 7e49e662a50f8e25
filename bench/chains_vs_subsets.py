"""Chains against independent random subsets at equal numbers of trainings: how wide is
the count effect's 95% interval under each design, on simulated results tables with a
known truth (tests/simtables.py: task effects, a seed's shared baseline noise, a set's
own noise)?

Both designs train the same number of intermediate phases per seed: L counts x D draws
of independent subsets, or D chains of length L. The script prints the median interval
width of each, their ratio (chains / subsets: below 1, chains measure the count effect
more precisely for the same compute), and how often each interval covers the truth.

    python bench/chains_vs_subsets.py [--sweeps 100] [--draws 6] [--length 4] [--seeds 3]
                                      [--task-sd 1] [--noise 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from simtables import POOL, simulate  # noqa: E402

from sweeper.report.compute import tier_frame  # noqa: E402
from sweeper.report.stats import count_effect  # noqa: E402

SLOPE = 1.0


def interval(table, effects: tuple[str, ...]) -> tuple[float, bool]:
    rows = table[table["split"] == "test"].assign(role="trial", comparable=True)
    trials, _ = tier_frame(rows, "all")
    found = count_effect(trials, covariates=[], effects=effects, boot=False)
    return found.high - found.low, found.low <= SLOPE <= found.high


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", type=int, default=100)
    p.add_argument("--draws", type=int, default=6, help="subsets per count = chains")
    p.add_argument("--length", type=int, default=4, help="counts 1..L = chain length")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--task-sd", type=float, default=1.0, help="spread of the task effects")
    p.add_argument("--noise", type=float, default=1.0, help="a set's own noise (sd)")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    widths: dict[str, list[float]] = {"subsets": [], "chains": []}
    covered = {"subsets": 0, "chains": 0}
    counts = tuple(range(1, args.length + 1))
    for i in range(args.sweeps):
        draws = rng.normal(0, args.task_sd, size=len(POOL))
        # centred: a set's expected effect is then the count's alone, slope x log(1 + k)
        truth = dict(zip(POOL, draws - draws.mean()))
        common = dict(slope=SLOPE, effects=truth, seeds=args.seeds, noise=args.noise)
        subsets = simulate(i, design="fixed_total", counts=counts, draws=args.draws, **common)
        chains = simulate(i, design="chains", chains=args.draws, length=args.length, **common)
        for name, table, fe in (("subsets", subsets, ("seed",)), ("chains", chains, ("unit",))):
            width, hit = interval(table, fe)
            widths[name].append(width)
            covered[name] += hit
    trainings = args.length * args.draws * args.seeds
    print(f"{args.sweeps} simulated sweeps, {trainings} trainings each "
          f"(counts 1..{args.length}, {args.draws} subsets per count or {args.draws} chains, "
          f"{args.seeds} seeds; task effects sd {args.task_sd:g}, set noise sd {args.noise:g}, "
          f"slope {SLOPE})")
    for name in widths:
        print(f"  {name:<8} median 95% interval width {statistics.median(widths[name]):.2f}, "
              f"covers the truth in {100 * covered[name] / args.sweeps:.0f}%")
    ratio = statistics.median(widths["chains"]) / statistics.median(widths["subsets"])
    print(f"ratio chains / subsets (interval width, baseline: independent subsets): {ratio:.2f}")


if __name__ == "__main__":
    main()
