"""A fidelity ladder against simulated truth: what screening task sets on a cheap rung
costs in accuracy, and whether its audit can tell.

    python bench/fidelity_ladder.py [--rhos 0.9 0.6 0.3] [--replications 200] [--json]

The simulated scale, chosen to look like the X-STILTs / task_scaling numbers:
- 128 task sets (a task_scaling-sized design); each set's full-fidelity score (XLM-R
  Large, the whole budget) is 70 + a set gain drawn N(0, 1.5) in points of a 0-100
  metric: task sets move a target by a few points;
- the full rung's dev objective and the reported test number are that score plus
  N(0, 0.3) each (the seed noise of a set's mean over seeds);
- the cheap rung (XLM-R Base, a quarter of the intermediate budget, one target epoch
  instead of two) scores a set 60 + 1.5 (rho z + sqrt(1 - rho^2) e), z the set's
  standardised full score and e fresh noise: correlated with the truth at the set level
  by rho;
- per trial, 300k intermediate examples seen (examples_total 100k, 3 epochs) and two
  epochs over MNLI's 393k for the target at full fidelity; compute is examples x the
  encoder's non-embedding size (sweeper.space.fidelity.encoder_size).

The ladder (sweeper.space.fidelity): every set at the cheap rung, the top 5% by its dev
objective (at least 3) promoted, and a seeded audit of 5% of the rest (at least 3) sent
up too. Per rho over seeded replications: Regret@1 of the ladder's choice (the best
promoted set by the full rung's dev objective) against the true best of all sets, in
points; how often the true best set was screened out; the ladder's compute as a share of
running every set at full fidelity; and whether the audit (sweeper.report.fidelity,
from the first `--audits` replications) trusts the screening.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd

from sweeper.report.fidelity import audit_ladder
from sweeper.space.fidelity import Audit, Ladder, Promote, Rung, audit, promote
from sweeper.space.fidelity_cost import Work, cost_share, ladder_cost

SETS, MEAN, SPREAD, NOISE = 128, 70.0, 1.5, 0.3
INTERMEDIATE, TARGET = 300_000, 2 * 392_702  # examples a full-fidelity trial sees
LADDER = Ladder((Rung("screen", "xlm-roberta-base", 0.25, target_epochs=1.0,
                      promote=Promote(top=0.05, min=3)),
                 Rung("full", "xlm-roberta-large", target_epochs=2.0)),
                Audit(share=0.05, min=3))


def per_trial() -> list[Work]:
    """One trial's trainings and examples at each rung of LADDER."""
    out = []
    for rung in LADDER.rungs:
        examples = INTERMEDIATE * rung.budget_share + TARGET * rung.target_epochs / 2.0
        out.append(Work(trainings=2, examples=examples))
    return out


def simulate(rho: float, seed: int) -> tuple[pd.DataFrame, float, bool]:
    """One ladder run: its table (sweeper.report.fidelity's columns), Regret@1 against
    the truth, and whether the true best set was screened out."""
    rng = np.random.default_rng([seed, int(rho * 1000)])
    names = [f"set{i:03d}" for i in range(SETS)]
    truth = MEAN + rng.normal(0, SPREAD, SETS)
    z = (truth - truth.mean()) / truth.std()
    cheap = 60 + SPREAD * (rho * z + np.sqrt(1 - rho ** 2) * rng.normal(0, 1, SETS))
    dev = truth + rng.normal(0, NOISE, SETS)
    test = truth + rng.normal(0, NOISE, SETS)
    up = promote(LADDER.rungs[0].promote, dict(zip(names, cheap)))
    extra = audit(LADDER.audit, [n for n in names if n not in up], "screen", seed)
    rows = [{"set": n, "rung": "screen", "objective": c, "test": np.nan, "audited": False}
            for n, c in zip(names, cheap)]
    index = {n: i for i, n in enumerate(names)}
    rows += [{"set": n, "rung": "full", "objective": dev[index[n]], "test": test[index[n]],
              "audited": n in extra} for n in up + extra]
    choice = max(up, key=lambda n: dev[index[n]])
    best = names[int(np.argmax(truth))]
    return pd.DataFrame(rows), float(truth.max() - truth[index[choice]]), best not in up


def run(rho: float, replications: int, audits: int) -> dict[str, Any]:
    regrets, missed, verdicts, first = [], [], [], None
    for seed in range(replications):
        table, regret, out = simulate(rho, seed)
        regrets.append(regret)
        missed.append(out)
        if seed < audits:
            report = audit_ladder(table, [r.name for r in LADDER.rungs],
                                  rng=np.random.default_rng(seed))
            verdicts.append(report.trusted)
            first = first or report
    rungs, full = ladder_cost(LADDER, SETS, per_trial())
    pair = first.pairs[0]
    return {"rho": rho, "regret_at_1": float(np.mean(regrets)),
            "regret_at_1_p90": float(np.percentile(regrets, 90)),
            "screened_out": float(np.mean(missed)),
            "screened_out_estimate": pair.screened_out,
            "cost_share": cost_share(rungs, full),
            "audit_says_trusted": sum(v is True for v in verdicts) > len(verdicts) / 2,
            "trusted_share": sum(v is True for v in verdicts) / len(verdicts),
            "spearman": pair.spearman, "spearman_interval": pair.spearman_interval,
            "verdict": first.verdict, "replications": replications, "audits": audits}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rhos", type=float, nargs="+", default=[0.9, 0.6, 0.3])
    p.add_argument("--replications", type=int, default=200)
    p.add_argument("--audits", type=int, default=9, help="replications audited (odd)")
    p.add_argument("--json", action="store_true", help="one JSON object per rho")
    opts = p.parse_args()
    results = [run(rho, opts.replications, min(opts.audits, opts.replications))
               for rho in opts.rhos]
    if opts.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{SETS} sets; ladder: {LADDER.rungs[0].model} (quarter budget, 1 target epoch), "
          f"top 5% and a 5% audit -> {LADDER.full.model}; {opts.replications} replications")
    print("| rho | Regret@1 (points) | 90th pct | best set screened out | cost share of the "
          "grid | Spearman (first run) | audit trusts (share) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        low, high = r["spearman_interval"] or (float("nan"), float("nan"))
        print(f"| {r['rho']:.1f} | {r['regret_at_1']:.2f} | {r['regret_at_1_p90']:.2f} | "
              f"{r['screened_out']:.0%} | {r['cost_share']:.0%} | {r['spearman']:.2f} "
              f"[{low:.2f}, {high:.2f}] | {r['audit_says_trusted']} "
              f"({r['trusted_share']:.0%}) |")


if __name__ == "__main__":
    main()
