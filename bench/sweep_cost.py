"""What a sweep costs on paper: trials, baselines, intermediate and target trainings,
training examples, and GPU hours at a measured training throughput, with and without
this release's levers (the auto micro-batch instead of jiant's 4 x 8, one SQuAD
fine-tuning shared by XQuAD and MLQA).

    python bench/sweep_cost.py search_spaces/xstilts.yaml search_spaces/task_scaling.yaml \\
        --results OUT/results.json --gpus 8

`--results` is what `bench/gpu_check.py` wrote on a GPU: the XLM-R Large throughput at
256 tokens, effective batch 32, with the auto micro-batch and as 4 x 8. `--levers` is
what `bench/gpu_levers.py` wrote: the best lever's throughput, with as many trials per
GPU as its measured busy share leaves room for, against today's train() ("before"). Without it, give
`--throughput` (and `--throughput-4x8`) in training examples per second per GPU.
Training set sizes come from the catalog (`train_size`, from the dataset cards); the
intermediate phase is counted as it runs (steps or epochs, within the pass limit);
evaluation time is left out.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sweeper.catalog import Catalog, load_catalog
from sweeper.model.train import TrainArgs, optimizer_steps, task_weights
from sweeper.space.space import cost as space_cost
from sweeper.space.space import grid, params_to_settings
from sweeper.space.spec import load_spec
from sweeper.trial.settings import TrialSettings, target_epochs
from sweeper.trial.sharing import stage_name


def _size(catalog: Catalog, name: str, cap: int | None) -> int:
    """Training examples of a task: its card's size, capped (the cap alone where the
    catalog does not know the size)."""
    n = catalog.task(name).train_size or cap or 0
    return min(n, cap) if cap else n


def intermediate_examples(s: TrialSettings, catalog: Catalog) -> float:
    """Examples the intermediate phase draws: its steps (or epochs) within the pass limit."""
    phase, train = s.intermediate, s.training
    cap = phase.examples_cap or train.max_train_examples
    sizes = [_size(catalog, t, cap) for t in s.tasks]
    if not sum(sizes):
        return 0.0
    weights = task_weights(sizes, phase.sampling if len(sizes) > 1 else "proportional",
                           phase.temperature)
    args = TrainArgs.of(epochs=phase.epochs if phase.steps is None else None,
                     max_steps=phase.steps, batch_size=train.batch_size, lr=1.0,
                     max_passes=phase.max_passes)
    return optimizer_steps(sizes, weights, args)[1] * train.batch_size


def target_examples(s: TrialSettings, catalog: Catalog, shared: bool) -> float:
    """Examples of a trial's (or baseline's) fine-tunings; `shared`: one per stage."""
    seen, total = set(), 0.0
    for name in s.targets:
        spec = catalog.task(name)
        if not spec.needs_training:
            continue
        epochs = target_epochs(s, spec)
        stage = (stage_name(catalog, name), epochs, s.target.batch_size.get(name))
        if shared and stage in seen:
            continue
        seen.add(stage)
        source = catalog.train_task(spec)[0].name
        total += epochs * _size(catalog, source, s.training.max_train_examples)
    return total


def cost(space: str, with_tp: float, without_tp: float | None, gpus: int) -> dict[str, Any]:
    catalog = load_catalog()
    spec = load_spec(space, catalog)
    if spec.algorithm != "grid":
        raise SystemExit("sweep_cost: a grid space (its trials are known in advance)")
    trials = [params_to_settings(spec, p) for p in grid(spec)]
    with_tasks = [t for t in trials if t.tasks]
    phases = {(tuple(t.tasks), t.seed, repr(t.intermediate), repr(t.training)):
              intermediate_examples(t, catalog) for t in with_tasks}  # the stage cache
    baselines = {(t.seed, repr(t.training), repr(t.target), repr(t.evaluation)): t
                 for t in trials}
    examples = {}
    for shared in (True, False):
        examples[shared] = sum(phases.values()) + sum(
            target_examples(t, catalog, shared) for t in [*with_tasks, *baselines.values()])
    counts = space_cost(spec, catalog)
    out: dict[str, Any] = {"space": spec.name, **{k: counts[k] for k in (
        "trials", "baselines", "intermediate_trainings", "target_trainings")},
        "examples_millions": examples[True] / 1e6, "gpus": gpus,
        "gpu_hours": examples[True] / with_tp / 3600}
    out["wall_hours"] = out["gpu_hours"] / gpus
    if without_tp:
        out["gpu_hours_before"] = examples[False] / without_tp / 3600
    return out


SHARE_BELOW = 0.6  # a GPU busy less than this share of a step takes a second trial


def from_levers(path: str) -> tuple[float, float, str]:
    """Per GPU: the best lever's examples/s, times the trials that fill the GPU's idle
    share (two where it is busy under SHARE_BELOW of a step, at most 1 / busy share);
    before: today's train() alone."""
    levers = json.loads(open(path).read())["levers"]
    best = levers["best"]
    r = levers[best]
    share = min(1.0, r["busy_ms"] / r["step_ms"])
    trials = 2 if share < SHARE_BELOW else 1
    rate = r["examples_per_s"] * min(trials, 1 / share)
    return rate, levers["train"]["examples_per_s"], (
        f"measured by bench/gpu_levers.py ({path}): {best}, GPU busy {share:.0%} of a step, "
        f"{trials} trial(s) per GPU; before: today's train(), one trial per GPU")


def throughputs(opts: argparse.Namespace) -> tuple[float, float | None, str]:
    if opts.levers:
        return from_levers(opts.levers)
    if opts.results:
        train = json.loads(open(opts.results).read())["train"]
        return (train["pair_256_auto"]["examples_per_s"],
                train["pair_256_4x8"]["examples_per_s"],
                f"measured by bench/gpu_check.py ({opts.results})")
    if not opts.throughput:
        raise SystemExit("sweep_cost: give --results (bench/gpu_check.py) or --throughput")
    return opts.throughput, opts.throughput_4x8, "given on the command line"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("spaces", nargs="+", help="grid search-space files")
    p.add_argument("--results", help="results.json of bench/gpu_check.py")
    p.add_argument("--levers", help="levers.json of bench/gpu_levers.py (before: train())")
    p.add_argument("--throughput", type=float, help="examples/s per GPU, auto micro-batch")
    p.add_argument("--throughput-4x8", type=float, help="examples/s per GPU as 4 x 8")
    p.add_argument("--gpus", type=int, default=8, help="GPUs the sweep runs on")
    opts = p.parse_args()
    with_tp, without_tp, source = throughputs(opts)
    now, then = ("best lever", "today's train()") if opts.levers else \
        ("auto micro-batch", "4 x 8")
    print(f"throughput: {with_tp:.0f} examples/s per GPU ({now})"
          + (f", {without_tp:.0f} with {then}" if without_tp else "") + f"; {source}")
    print("| space | trials | baselines | intermediate trainings | target trainings | "
          f"examples (M) | GPU hours | hours on N GPUs | GPU hours before ({then}, SQuAD "
          "twice) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for space in opts.spaces:
        c = cost(space, with_tp, without_tp, opts.gpus)
        before = f"{c['gpu_hours_before']:.0f}" if "gpu_hours_before" in c else "n/a"
        print(f"| {c['space']} | {c['trials']} | {c['baselines']} | "
              f"{c['intermediate_trainings']} | {c['target_trainings']} | "
              f"{c['examples_millions']:.0f} | {c['gpu_hours']:.0f} | "
              f"{c['wall_hours']:.1f} (N={c['gpus']}) | {before} |")


if __name__ == "__main__":
    main()
