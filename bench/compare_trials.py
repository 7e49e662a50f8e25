"""Compare two trials' numbers (say, one on a GPU and one on a CPU): each target's average
and the largest per-language difference, on the dev and test splits.

  python bench/compare_trials.py OUT_A/metrics.json OUT_B/metrics.json --tolerance 3

Exits 1 when a per-language score differs by more than `--tolerance` points.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MAIN = ("f1", "accuracy")  # the per-language metric compared, where a target has several


def scores(metrics: dict, split: str) -> dict[str, dict[str, float]]:
    """target -> language -> the target's main per-language metric."""
    out: dict[str, dict[str, float]] = {}
    for target, entries in metrics[split]["xtreme"]["detailed_scores"].items():
        per_language = {k: v for k, v in entries.items() if isinstance(v, dict)}
        if not per_language:
            continue
        name = next((m for m in MAIN if m in per_language), next(iter(per_language)))
        out[target] = {lang: float(v) for lang, v in per_language[name].items()}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tolerance", type=float, default=3.0, help="points, per language")
    opts = p.parse_args()
    a, b = (json.loads(Path(x).read_text()) for x in (opts.a, opts.b))
    worst = 0.0
    for split in ("dev", "test"):
        sa, sb = scores(a, split), scores(b, split)
        for target in sorted(sa):
            diffs = {lang: abs(sa[target][lang] - sb[target].get(lang, float("nan")))
                     for lang in sa[target]}
            lang, gap = max(diffs.items(), key=lambda kv: kv[1])
            worst = max(worst, gap)
            mean_a = sum(sa[target].values()) / len(sa[target])
            mean_b = sum(sb[target].values()) / len(sb[target])
            print(f"{split:<4} {target:<10} mean {mean_a:6.2f} vs {mean_b:6.2f}  largest "
                  f"per-language gap {gap:5.2f} ({lang})")
    ok = worst <= opts.tolerance
    print(f"{'ok' if ok else 'FAIL'}: largest gap {worst:.2f} points (tolerance "
          f"{opts.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
