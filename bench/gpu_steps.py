"""The training steps bench/gpu_levers.py compares, one class per lever; each takes a
batch already on the device and returns its loss per example (a device tensor: reading
it is the caller's choice). Every one uses the loop's own optimizer settings
(sweeper.model.train.make_optimizer: fused AdamW, no decay on biases and norms, linear
warm-up and decay over `total` steps) and foreach clipping at 1.0, as train() does.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch

from sweeper.model.device import autocast
from sweeper.model.levers import Levers
from sweeper.model.train import TrainArgs, make_optimizer

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
    """The model's layers eager again (a compiled variant compiles them in place)."""
    model.use_levers(None)
    for layer in getattr(getattr(model.encoder, "encoder", None), "layer", []):
        layer._compiled_call_impl = None
    torch._dynamo.reset()


class Eager:
    """The loop's step on staged batches; `levers`: sweeper.model.levers settings."""

    def __init__(self, s: Setup, total: int, **levers: Any):
        self.s, self.notes, self.seconds = s, [], 0.0
        _plain(s.model)
        s.model.train()
        args = TrainArgs(epochs=None, max_steps=total, batch_size=s.batch, lr=LR)
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


class WholeStep(Eager):
    """The whole step captured once per batch shape: gradients zeroed, forward, backward,
    clipping and AdamW(fused, capturable) with the learning rate a device tensor the host
    fills before each replay (the schedule's value), so a step is one launch."""

    def __init__(self, s: Setup, total: int):
        super().__init__(s, total)
        self.total, self.k = total, 0
        self.lr = torch.tensor(LR, device=s.device)
        groups = [{"params": g["params"], "weight_decay": g["weight_decay"]}
                  for g in self.opt.param_groups]
        self.opt = torch.optim.AdamW(groups, lr=self.lr, eps=1e-8, fused=True,
                                     capturable=True)
        self.grads = []
        for p in self.params:
            p.grad = torch.zeros_like(p)
            self.grads.append(p.grad)
        self.lr.fill_(0.0)  # the optimizer's state made before capture: a step that moves
        self.opt.step()  # nothing (zero gradients, learning rate 0), its count reset
        for state in self.opt.state.values():
            state["step"].zero_()
        self.graphs: dict[tuple, tuple[Any, dict[str, Any], torch.Tensor]] = {}
        self.pool = torch.cuda.graph_pool_handle()

    def factor(self, k: int) -> float:
        """transformers' linear schedule with 10% warm-up, at step k."""
        warm = int(0.1 * self.total)
        if k < warm:
            return k / max(1, warm)
        return max(0.0, (self.total - k) / max(1, self.total - warm))

    def body(self, b: dict[str, Any], items: torch.Tensor, update: bool) -> torch.Tensor:
        torch._foreach_zero_(self.grads)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.s.precision == "bf16",
                            cache_enabled=False):
            loss = self.s.kind.loss(self.s.kind.outputs(self.s.model, HEAD, b), b)
        (loss / items).backward()
        if update:
            torch.nn.utils.clip_grad_norm_(self.params, 1.0, foreach=True)
            self.opt.step()
        return loss.detach() / items

    def capture(self, b: dict[str, Any]) -> tuple[Any, dict[str, Any], torch.Tensor]:
        began = time.perf_counter()
        static = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in b.items()}
        items = torch.tensor(float(self.s.batch), device=self.s.device)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: forward and backward, no update
            for _ in range(2):
                self.body(static, items, update=False)
            torch._foreach_zero_(self.grads)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            loss = self.body(static, items, update=True)
        torch.cuda.synchronize()
        self.seconds += time.perf_counter() - began
        return graph, static, loss

    def step(self, b: dict[str, Any]) -> torch.Tensor:
        key = (tuple(b["input_ids"].shape), b.get("attention_mask") is None)
        if key not in self.graphs:
            self.graphs[key] = self.capture(b)
        graph, static, loss = self.graphs[key]
        for name, value in b.items():
            if isinstance(value, torch.Tensor):
                static[name].copy_(value, non_blocking=True)
        self.lr.fill_(LR * self.factor(self.k))
        self.k += 1
        graph.replay()
        return loss.clone()


STEPPERS = {
    "bare": lambda s, total: Eager(s, total),
    "buckets": lambda s, total: Eager(s, total),
    "graphs": lambda s, total: Eager(s, total, cuda_graphs="on"),
    "whole_step": WholeStep,
    "compiled": lambda s, total: Eager(s, total, compile="layers"),
    "compiled_graphs": lambda s, total: Eager(s, total, compile="layers+graphs"),
    "bf16_copies": Bf16Copies,
    "upper_bound": lambda s, total: Eager(s, total),
}
