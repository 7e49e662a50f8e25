"""The one training loop: multi-task sampling, AMP, gradient accumulation, AdamW.

Used by both phases: the intermediate phase passes several tasks (one head each), the
target phase passes one. No per-step host syncs: losses stay on the device and are
read only every `log_every` optimizer steps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import datasets
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from sweeper.model.batching import Columns, to_device
from sweeper.model.device import autocast
from sweeper.model.heads import MultiTaskModel


@dataclass
class TrainTask:
    """One task to train: its head name, its task type (sweeper.tasktypes: outputs and
    loss) and its tokenized training split."""

    name: str
    kind: Any
    data: datasets.Dataset


@dataclass
class TrainArgs:
    """Optimisation settings shared by both phases (jiant's X-STILTs defaults)."""

    epochs: float | None  # passes over the summed training sets (None: max_steps decides)
    batch_size: int
    lr: float
    max_steps: int | None = None  # optimizer steps in all (replaces epochs when set)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    sampling: str = "proportional"  # proportional | uniform | temperature
    temperature: float = 2.0
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    log_every: int = 20


def task_weights(sizes: list[int], sampling: str, temperature: float) -> list[float]:
    """Probability of drawing each task's next batch."""
    if sampling == "uniform":
        raw = [1.0] * len(sizes)
    elif sampling == "temperature":
        raw = [n ** (1.0 / temperature) for n in sizes]
    elif sampling == "proportional":
        raw = [float(n) for n in sizes]
    else:
        raise ValueError(f"unknown task sampling '{sampling}'")
    total = sum(raw)
    return [x / total for x in raw]


def _batches(task: TrainTask, args: TrainArgs, pad_id: int, rng: random.Random, pin: bool
             ) -> Iterator[dict[str, torch.Tensor]]:
    columns = Columns(task.data, list(task.kind.train_columns), pin)  # read once
    while True:  # cycle through epochs; the step budget decides when to stop
        for _, batch in columns.indexed(batch_size=args.batch_size, pad_id=pad_id, rng=rng):
            yield batch


def optimizer_steps(sizes: list[int], args: TrainArgs) -> int:
    """`max_steps`, else `epochs` passes over the summed sizes, in optimizer steps."""
    if args.max_steps:
        return args.max_steps
    micro_steps = max(1, math.ceil((args.epochs or 0) * sum(sizes) / args.batch_size))
    return max(1, micro_steps // args.grad_accum)


def make_optimizer(model: nn.Module, args: TrainArgs, opt_steps: int) -> tuple[Any, Any]:
    """AdamW (no decay on biases and norms) with 10% linear warmup, then linear decay."""
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    # the fused kernel exists for CPUs too (torch >= 2.4): one call per step, not per tensor
    optimizer = torch.optim.AdamW(groups, lr=args.lr, eps=1e-8, fused=True)
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * opt_steps),
                                               opt_steps)
    return optimizer, schedule


def train(model: MultiTaskModel, tasks: list[TrainTask], args: TrainArgs, *, pad_id: int,
          device: torch.device, desc: str = "train",
          on_log: Callable[[int, dict[str, float]], None] | None = None) -> list[dict]:
    """Train `model` on `tasks` for `args.epochs` passes over their summed sizes."""
    sizes = [len(t.data) for t in tasks]
    weights = task_weights(sizes, args.sampling, args.temperature)
    opt_steps = optimizer_steps(sizes, args)
    optimizer, schedule = make_optimizer(model, args, opt_steps)
    rng = random.Random(args.seed)
    streams = [_batches(t, args, pad_id, random.Random(args.seed * 1000 + i),
                        pin=device.type == "cuda")
               for i, t in enumerate(tasks)]
    model.train()
    history: list[dict] = []
    running = torch.zeros((), device=device)
    counted = 0
    bar = tqdm(total=opt_steps, desc=desc, unit="step", mininterval=2.0, leave=False)
    step = 0
    for micro in range(opt_steps * args.grad_accum):
        i = rng.choices(range(len(tasks)), weights)[0] if len(tasks) > 1 else 0
        batch = to_device(next(streams[i]), device)
        with autocast(device, args.precision):
            kind = tasks[i].kind
            loss = kind.loss(kind.outputs(model, tasks[i].name, batch), batch)
        (loss / args.grad_accum).backward()
        running += loss.detach()
        counted += 1
        if (micro + 1) % args.grad_accum:
            continue
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm, foreach=True)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        if step % args.log_every == 0 or step == opt_steps:
            point = {"step": step, "loss": float(running) / counted,
                     "lr": schedule.get_last_lr()[0]}
            history.append(point)
            bar.set_postfix(loss=f"{point['loss']:.3f}")
            if on_log:
                on_log(step, point)
            running.zero_()
            counted = 0
    bar.close()
    model.eval()
    return history
