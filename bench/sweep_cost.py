"""What a sweep costs on paper: trials, baselines, intermediate and target trainings,
training examples, and GPU hours at a given training throughput; and what the stage
cache saves (without it every trial trains its own intermediate phase and baseline).

    python bench/sweep_cost.py search_spaces/task_scaling.yaml --throughput 300 --gpus 8

`--throughput` is training examples per second per GPU: measure it on your GPU with
`bench/train_throughput.py --shapes large --seq-len 256` (the default, 300, is an estimate
for XLM-R Large, sequence length 256, bf16 on one H100, not a measurement). Training
set sizes come from the catalog (`train_size`, from the dataset cards); evaluation time
is left out.
"""

from __future__ import annotations

import argparse

from sweeper.catalog import load_catalog
from sweeper.sweep.space import cost as space_cost
from sweeper.sweep.space import grid, params_to_settings
from sweeper.sweep.spec import load_spec


def cost(space: str, throughput: float, gpus: int) -> dict:
    catalog = load_catalog()
    spec = load_spec(space, catalog)
    if spec.algorithm != "grid":
        raise SystemExit("sweep_cost: a grid space (its trials are known in advance)")
    points = grid(spec)
    trials = [params_to_settings(spec, p) for p in points]
    with_tasks = [t for t in trials if t.tasks]

    def size(name: str, cap: int | None) -> int:
        n = catalog.task(name).train_size or 0
        return min(n, cap) if cap else n

    def intermediate_examples(t) -> float:
        phase, train = t.intermediate, t.training
        if phase.steps:
            return phase.steps * train.batch_size * train.grad_accum
        cap = phase.examples_cap or train.max_train_examples
        return phase.epochs * sum(size(n, cap) for n in t.tasks)

    def target_examples(t) -> float:
        total = 0.0
        for name in t.targets:
            spec_t = catalog.task(name)
            if spec_t.needs_training:
                source, _ = catalog.train_task(spec_t)
                total += (t.target.epochs or spec_t.epochs or 2.0) * size(source.name, t.training.max_train_examples)
        return total

    distinct = {}
    for t in with_tasks:  # one intermediate training per distinct phase (stage cache)
        ident = (tuple(t.tasks), t.seed, repr(t.intermediate), repr(t.training))
        distinct[ident] = intermediate_examples(t)
    baselines = {}
    for t in trials:
        ident = (t.seed, repr(t.training), repr(t.target), repr(t.evaluation))
        baselines[ident] = target_examples(t)
    cached = sum(distinct.values()) + sum(target_examples(t) for t in with_tasks) \
        + sum(baselines.values())
    uncached = sum(intermediate_examples(t) for t in with_tasks) \
        + 2 * sum(target_examples(t) for t in with_tasks)
    hours = cached / throughput / 3600
    counts = space_cost(spec, catalog)  # trials, baselines and trainings, as validate says
    return {"space": spec.name, **{k: counts[k] for k in ("trials", "baselines",
                                                          "intermediate_trainings",
                                                          "target_trainings")},
            "examples_millions": cached / 1e6, "gpu_hours": hours,
            "wall_hours_on_gpus": hours / gpus, "gpus": gpus,
            "gpu_hours_without_cache": uncached / throughput / 3600}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("spaces", nargs="+", help="grid search-space files")
    p.add_argument("--throughput", type=float, default=300.0,
                   help="training examples per second per GPU (measure it!)")
    p.add_argument("--gpus", type=int, default=8, help="GPUs the sweep runs on")
    args = p.parse_args()
    print("| space | trials | baselines | intermediate trainings | target trainings | "
          "examples (M) | GPU hours | hours on N GPUs | GPU hours without the stage cache |")
    print("|---|---|---|---|---|---|---|---|---|")
    for space in args.spaces:
        c = cost(space, args.throughput, args.gpus)
        print(f"| {c['space']} | {c['trials']} | {c['baselines']} | "
              f"{c['intermediate_trainings']} | {c['target_trainings']} | "
              f"{c['examples_millions']:.0f} | {c['gpu_hours']:.0f} | "
              f"{c['wall_hours_on_gpus']:.1f} (N={c['gpus']}) | "
              f"{c['gpu_hours_without_cache']:.0f} |")


if __name__ == "__main__":
    main()
