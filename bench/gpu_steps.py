"""The training steps bench/gpu_levers.py compares, one class per lever; each takes a
batch already on the device and returns its loss per example (a device tensor: reading
it is the caller's choice). Every one uses the loop's own optimizer settings
(sweeper.model.train.make_optimizer: fused AdamW, no decay on biases and norms, linear
warm-up and decay over `total` steps) and foreach clipping at 1.0, as train() does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from sweeper.model.device import autocast
from sweeper.model.levers import Levers
from sweeper.model.train import TrainArgs, make_optimizer
from sweeper.model.whole_step import WholeStep

HEAD = "pair_classification"
LR = 1e-5


@dataclass
class Setup:
    """What every variant shares: the model and its starting weights, the table, the
    batch order and the length buckets."""

    device: torch.device
    dry: bool
    model: Any
    start: dict[str, torch.Tensor]
    kind: Any
    table: Any
    columns: Any
    order: list[list[int]]
    widths: tuple[int, ...]
    batch: int
    length: int
    steps: int
    precision: str
    seed: int


def _plain(model: Any) -> None:
    """The model's layers eager again (a compiled variant compiles them in place), no
    gradient left (a captured whole step keeps its own)."""
    model.use_levers(None)
    model.zero_grad(set_to_none=True)
    for layer in getattr(getattr(model.encoder, "encoder", None), "layer", []):
        layer._compiled_call_impl = None
    torch._dynamo.reset()


class Eager:
    """The loop's step on staged batches; `levers`: sweeper.model.levers settings."""

    def __init__(self, s: Setup, total: int, **levers: Any):
        self.s, self.notes, self.seconds = s, [], 0.0
        _plain(s.model)
        s.model.train()
        args = TrainArgs.of(epochs=None, max_steps=total, batch_size=s.batch, lr=LR)
        self.opt, self.schedule = make_optimizer(s.model, args, total)
        self.params = list(s.model.parameters())
        self.levers = Levers(s.model.encoder, device=s.device, say=self.notes.append,
                             **levers) if levers else None
        s.model.use_levers(self.levers)

    def forward_backward(self, model: Any, b: dict[str, Any]) -> torch.Tensor:
        s = self.s
        with autocast(s.device, s.precision):
            loss = s.kind.loss(s.kind.outputs(model, HEAD, b), b)
        (loss / s.batch).backward()
        return loss.detach() / s.batch

    def step(self, b: dict[str, Any]) -> torch.Tensor:
        loss = self.forward_backward(self.s.model, b)
        torch.nn.utils.clip_grad_norm_(self.params, 1.0, foreach=True)
        self.opt.step()
        self.schedule.step()
        self.opt.zero_grad(set_to_none=True)
        if self.levers is not None:
            self.seconds = self.levers.seconds
        return loss


class Bf16Copies(Eager):
    """Forward and backward on bf16 copies of the weights (no casts under autocast); the
    gradients copied into the fp32 master weights the optimizer updates, which are then
    copied back."""

    def __init__(self, s: Setup, total: int):
        super().__init__(s, total)
        self.half = copy.deepcopy(s.model).to(torch.bfloat16).train()
        self.low = list(self.half.parameters())
        for p in self.params:
            p.grad = torch.zeros_like(p)

    def step(self, b: dict[str, Any]) -> torch.Tensor:
        loss = self.s.kind.loss(self.s.kind.outputs(self.half, HEAD, b), b)
        (loss / self.s.batch).backward()
        with torch.no_grad():
            torch._foreach_copy_([p.grad for p in self.params], [p.grad for p in self.low])
        torch.nn.utils.clip_grad_norm_(self.params, 1.0, foreach=True)
        self.opt.step()
        self.schedule.step()
        self.half.zero_grad(set_to_none=True)
        with torch.no_grad():
            torch._foreach_copy_(self.low, self.params)
        return loss.detach() / self.s.batch


class Whole(Eager):
    """The whole step captured per bucket (sweeper.model.whole_step: forward, backward,
    clipping and AdamW(fused, capturable) with the learning rate a device tensor); on a
    CPU the same step uncaptured."""

    def __init__(self, s: Setup, total: int):
        super().__init__(s, total)
        self.whole = WholeStep(s.model, self.opt.param_groups, max_grad_norm=1.0,
                               precision=s.precision, device=s.device,
                               capture=s.device.type == "cuda", say=self.notes.append)
        self.opt._opt_called = True  # never stepped: its schedule sets the rate

    def step(self, b: dict[str, Any]) -> torch.Tensor:
        loss = self.whole.step(self.s.kind, HEAD, b, self.s.batch,
                               self.schedule.get_last_lr()[0])
        self.schedule.step()
        self.seconds = self.whole.seconds
        return loss / self.s.batch


STEPPERS = {
    "bare": lambda s, total: Eager(s, total),
    "buckets": lambda s, total: Eager(s, total),
    "graphs": lambda s, total: Eager(s, total, cuda_graphs="on"),
    "whole_step": Whole,
    "compiled": lambda s, total: Eager(s, total, compile="layers"),
    "compiled_graphs": lambda s, total: Eager(s, total, compile="layers+graphs"),
    "bf16_copies": Bf16Copies,
    "upper_bound": lambda s, total: Eager(s, total),
}
