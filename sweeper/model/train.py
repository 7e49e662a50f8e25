"""The one training loop: multi-task sampling, AMP, effective batch vs micro-batch, AdamW.

Used by both phases: the intermediate phase passes several tasks (one head each), the
target phase passes one. Each optimizer step draws one task and takes `batch_size`
examples of it (the effective batch, the research setting); they are computed in
micro-batches of `micro_batch` examples (a runtime setting: what fits the device) whose
summed losses are divided by the effective batch's number of items (examples; tokens
for token-level losses), as transformers does with `num_items_in_batch`, so the
micro-batch changes no number but rounding. No per-step host syncs: item counts come
from the host-side batch, the padding mask is built on the host, losses stay on the
device and are read every `log_every` steps. `max_passes` bounds how often a task's
examples are seen: a set too small for its step budget trains less, and the loop says
what it did (examples drawn and passes per task, optimizer steps). Log points carry the
stage's padding share so far (length buckets: sweeper.model.buckets) and the seconds
the model's speed levers spent compiling or capturing (sweeper.model.levers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from sweeper.model import buckets
from sweeper.model.batching import Columns, to_device
from sweeper.model.device import autocast
from sweeper.model.heads import MultiTaskModel
from sweeper.model.optimisation import Optimisation
from sweeper.model.plan import optimizer_steps, task_weights

if TYPE_CHECKING:  # pragma: no cover
    import datasets


@dataclass
class TrainTask:
    """One task to train: its head name, its task type (sweeper.tasktypes: outputs, loss,
    what its loss counts) and its tokenized training split (a `datasets.Dataset` or a
    pyarrow table)."""

    name: str
    kind: Any
    data: "datasets.Dataset | Any"
    source: str = ""  # the catalog task its examples come from (its max length)


@dataclass
class TrainArgs:
    """One phase's loop: the trial's optimiser settings as resolved (`opt`, read as they
    are: lr, weight decay, warmup, precision) and what this phase adds."""

    epochs: float | None  # passes over the summed training sets (None: max_steps decides)
    batch_size: int  # the effective batch: examples per optimizer step
    opt: Optimisation
    max_steps: int | None = None  # optimizer steps in all (replaces epochs when set)
    micro_batch: int | None = None  # examples per forward/backward (None: the whole batch)
    max_grad_norm: float = 1.0
    sampling: str = "proportional"  # proportional | uniform | temperature
    temperature: float = 2.0
    seed: int = 0
    max_passes: float | None = None  # at most this many passes over any task's examples
    log_every: int = 20
    # padding: 'off' (dynamic), 'auto' (widths from the stage's lengths) or fixed widths
    length_buckets: str | tuple[int, ...] = "off"


    lr = property(lambda self: self.opt.lr)
    weight_decay = property(lambda self: self.opt.weight_decay)
    warmup_ratio = property(lambda self: self.opt.warmup_ratio)
    precision = property(lambda self: self.opt.precision)  # fp32 | bf16 (autocast)

    @classmethod
    def of(cls, *, lr: float, weight_decay: float = 0.01, warmup_ratio: float = 0.1,
           precision: str = "fp32", **loop: Any) -> "TrainArgs":
        """A loop outside a trial (tests, benchmarks): jiant's X-STILTs defaults."""
        opt = Optimisation(lr=lr, batch_size=loop["batch_size"], weight_decay=weight_decay,
                           warmup_ratio=warmup_ratio, max_train_examples=None,
                           precision=precision)
        return cls(opt=opt, **loop)


@dataclass
class TrainResult:
    """What the loop did: its loss curve, and per task the examples it drew."""

    history: list[dict] = field(default_factory=list)
    steps: int = 0
    planned_steps: int = 0
    drawn: dict[str, int] = field(default_factory=dict)  # task -> examples drawn
    distinct: dict[str, int] = field(default_factory=dict)  # task -> examples it holds
    widths: tuple[int, ...] = ()  # the length buckets batches were padded to (): dynamic
    computed_tokens: int = 0  # tokens of every padded batch, padding included
    real_tokens: int = 0  # of which not padding
    compile_s: float = 0.0  # seconds spent compiling or capturing (sweeper.model.levers)

    @property
    def padding_share(self) -> float:
        """Padded tokens over all tokens computed, over the whole stage."""
        return buckets.share(self.computed_tokens, self.real_tokens)

    def data(self) -> dict[str, Any]:
        """Examples drawn, distinct examples and passes, per task and in total."""
        passes = {t: self.drawn[t] / self.distinct[t] if self.distinct[t] else 0.0
                  for t in self.drawn}
        total_distinct = sum(self.distinct.values())
        return {"tasks": {t: {"examples_seen": self.drawn[t], "distinct": self.distinct[t],
                              "passes": passes[t]} for t in self.drawn},
                "examples_seen": sum(self.drawn.values()), "distinct_examples": total_distinct,
                "max_passes": max(passes.values(), default=0.0),
                "mean_passes": (sum(self.drawn.values()) / total_distinct
                                if total_distinct else 0.0),
                "steps": self.steps, "planned_steps": self.planned_steps}


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


class _Stream:
    """A task's effective batches (row indices), epoch after epoch, in length-grouped
    order; each split into micro-batches gathered on the host."""

    def __init__(self, task: TrainTask, args: TrainArgs, pad_id: int, rng: random.Random,
                 pin: bool, attention: str):
        self.task, self.args, self.pad_id, self.rng = task, args, pad_id, rng
        self.columns = Columns(task.data, list(task.kind.train_columns), pin, attention)
        self.items = self.columns.items(task.kind.loss_items)  # per row: what the loss counts
        self.order: Iterator[list[int]] = iter(())
        self.widths: tuple[int, ...] = ()  # length buckets (): dynamic padding
        self.computed = self.real = 0  # tokens gathered, padding included / not

    def next(self) -> list[int]:
        for idx in self.order:
            return idx
        self.order = iter(self.columns.order(self.args.batch_size, self.rng))  # a new epoch
        return next(self.order)

    def micro_batches(self, idx: list[int]) -> Iterator[dict[str, torch.Tensor]]:
        size = self.args.micro_batch or len(idx)
        for start in range(0, len(idx), size):
            part = idx[start:start + size]
            batch = self.columns.batch(part, self.pad_id, self.widths)
            self.computed += batch["input_ids"].numel()
            self.real += self.columns.tokens(part)
            yield self.task.kind.prepare(batch)


def _point(step: int, loss: float, lr: float, streams: list[_Stream], result: TrainResult,
           levers: Any) -> dict[str, float]:
    """A log point: loss since the last one, learning rate, the stage's padding share
    so far, seconds spent compiling or capturing (if any)."""
    result.computed_tokens = sum(s.computed for s in streams)
    result.real_tokens = sum(s.real for s in streams)
    point = {"step": step, "loss": loss, "lr": lr, "padding_share": result.padding_share}
    if levers is not None and levers.total_s:
        result.compile_s = point["compile_s"] = levers.total_s
    return point


def _eager_step(model: MultiTaskModel, optimizer: Any, stream: _Stream, head: str,
                idx: list[int], items: int, running: torch.Tensor, device: torch.device) -> None:
    """One optimizer step over the micro-batches of rows `idx`; their summed losses are
    added to `running` (on the device: no sync)."""
    kind, args = stream.task.kind, stream.args
    for batch in stream.micro_batches(idx):
        batch = to_device(batch, device)
        with autocast(device, args.precision):
            loss = kind.loss(kind.outputs(model, head, batch), batch)
        (loss / items).backward()
        running += loss.detach()
    torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm, foreach=True)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def train(model: MultiTaskModel, tasks: list[TrainTask], args: TrainArgs, *, pad_id: int,
          device: torch.device, desc: str = "train",
          on_log: Callable[[int, dict[str, float]], None] | None = None) -> TrainResult:
    """Train `model` on `tasks` for `args.epochs` passes over their summed sizes (or
    `args.max_steps` steps), within the pass limit."""
    sizes = [len(t.data) for t in tasks]
    weights = task_weights(sizes, args.sampling, args.temperature)
    planned, opt_steps = optimizer_steps(sizes, weights, args)
    optimizer, schedule = make_optimizer(model, args, opt_steps)
    rng = random.Random(args.seed)
    attention = getattr(model.encoder.config, "_attn_implementation", "sdpa") or "sdpa"
    streams = [_Stream(t, args, pad_id, random.Random(args.seed * 1000 + i),
                       device.type == "cuda", attention) for i, t in enumerate(tasks)]
    result = TrainResult(planned_steps=planned, drawn={t.name: 0 for t in tasks},
                         distinct={t.name: n for t, n in zip(tasks, sizes)},
                         widths=buckets.widths_for(args.length_buckets, [
                             n for s in streams for n in s.columns.lengths]))  # pooled
    for stream in streams:
        stream.widths = result.widths
    levers = getattr(model, "levers", None)
    whole = levers.whole_step(model, optimizer, args, [t.name for t in tasks]) \
        if levers is not None else None
    model.train()
    running, counted = torch.zeros((), device=device), 0
    bar = tqdm(total=opt_steps, desc=desc, unit="step", mininterval=2.0, leave=False)
    for step in range(1, opt_steps + 1):
        i = rng.choices(range(len(tasks)), weights)[0] if len(tasks) > 1 else 0
        stream, kind = streams[i], tasks[i].kind
        idx = stream.next()
        items = max(1, int(stream.items[idx].sum()))  # on the host: no sync
        if whole is not None:  # the whole step captured (sweeper.model.whole_step)
            batch = to_device(next(stream.micro_batches(idx)), device)
            running += whole.step(kind, tasks[i].name, batch, items, schedule.get_last_lr()[0])
        else:
            _eager_step(model, optimizer, stream, tasks[i].name, idx, items, running, device)
        counted += items
        result.drawn[tasks[i].name] += len(idx)
        schedule.step()
        bar.update(1)
        if step % args.log_every == 0 or step == opt_steps:
            point = _point(step, float(running) / counted, schedule.get_last_lr()[0], streams,
                           result, levers)
            result.history.append(point)
            bar.set_postfix(loss=f"{point['loss']:.3f}")
            if on_log:
                on_log(step, point)
            running.zero_()
            counted = 0
    bar.close()
    model.zero_grad(set_to_none=True)  # a captured whole step keeps its gradients
    model.eval()
    result.steps = opt_steps
    return result

