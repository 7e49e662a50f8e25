"""The whole training step as one CUDA graph per batch shape: gradients zeroed, forward,
backward, clipping and the AdamW update, replayed with one launch.

Where it holds (a GPU, the effective batch in one micro-batch) it replaces the loop's
step for `cuda_graphs=on`. It needs what a graph can replay: AdamW fused and capturable
(its state and step count on the device), the learning rate a device tensor the host
fills before each step from the loop's own schedule, gradients that live at fixed
addresses (made once, zeroed inside the step), the batch copied into the graph's own
input tensors. Its optimizer state is made before the first capture by an update that
moves nothing (zero gradients, learning rate 0), its step count then reset, so the
numbers are those of the loop's eager step up to rounding. A capture that fails leaves
eager steps with the same optimizer, said once. On a CPU (`capture=False`) the same
step runs without graphs: what the tests check against the loop.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
from torch import nn

from sweeper.errors import one_line

WARMUP_PASSES = 2  # forward and backward on a side stream before a capture
GRAPH_LIMIT = 16  # shapes captured at most (masked LM: a shape per count of masks)


class WholeStep:
    """The loop's optimizer step, captured per (head, batch shape) where it can be."""

    def __init__(self, model: nn.Module, groups: list[dict[str, Any]], *, max_grad_norm: float,
                 precision: str, device: torch.device, capture: bool,
                 say: Callable[[str], None]):
        self.model, self.norm, self.precision, self.device = model, max_grad_norm, precision, device
        self.capture_on, self.say, self.seconds = capture, say, 0.0
        self.params = [p for g in groups for p in g["params"]]
        self.lr = torch.zeros((), device=device)
        self.opt = torch.optim.AdamW([{"params": g["params"], "weight_decay": g["weight_decay"]}
                                      for g in groups], lr=self.lr, eps=1e-8, fused=True,
                                     capturable=device.type == "cuda")
        for p in self.params:
            p.grad = torch.zeros_like(p)
        self.grads = [p.grad for p in self.params]
        self.opt.step()  # the state made by an update that moves nothing (lr 0, no gradient)
        for state in self.opt.state.values():
            state["step"].zero_()
        self.items = torch.ones((), device=device)
        self.graphs: dict[tuple, tuple[Any, dict[str, Any], torch.Tensor]] = {}
        self.pool: Any = None

    def _body(self, kind: Any, head: str, batch: dict[str, Any], update: bool = True
              ) -> torch.Tensor:
        """Zeroed gradients, forward, backward, clipping, the update; the summed loss."""
        torch._foreach_zero_(self.grads)
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.precision == "bf16", cache_enabled=False):
            loss = kind.loss(kind.outputs(self.model, head, batch), batch)
        (loss / self.items).backward()
        if update:
            torch.nn.utils.clip_grad_norm_(self.params, self.norm, foreach=True)
            self.opt.step()
        return loss.detach()

    def _capture(self, kind: Any, head: str, batch: dict[str, Any]
                 ) -> tuple[Any, dict[str, Any], torch.Tensor] | None:
        began = time.perf_counter()
        static = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # kernels chosen, workspaces made: not captured
                for _ in range(WARMUP_PASSES):
                    self._body(kind, head, static, update=False)
            torch.cuda.current_stream().wait_stream(side)
            self.pool = self.pool or torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                loss = self._body(kind, head, static)
        except Exception as exc:
            self.capture_on = False
            self.say(f"cuda_graphs: the whole step's capture failed at shape "
                     f"{tuple(batch['input_ids'].shape)} ({one_line(exc, 200)}); training "
                     "steps run eagerly")
            return None
        finally:
            self.seconds += time.perf_counter() - began
        return graph, static, loss

    def step(self, kind: Any, head: str, batch: dict[str, Any], items: int, lr: float
             ) -> torch.Tensor:
        """One optimizer step on `batch` (on the device) whose loss counts `items`, at
        learning rate `lr`; the batch's summed loss (a device tensor)."""
        self.lr.fill_(lr)
        self.items.fill_(float(items))
        key = (head, batch.get("attention_mask") is None,
               *(tuple(v.shape) for v in batch.values() if isinstance(v, torch.Tensor)))
        if self.capture_on and key not in self.graphs and len(self.graphs) < GRAPH_LIMIT:
            captured = self._capture(kind, head, batch)
            if captured is not None:
                self.graphs[key] = captured
        if key not in self.graphs:
            return self._body(kind, head, batch)
        graph, static, loss = self.graphs[key]
        for name, value in batch.items():
            if isinstance(value, torch.Tensor):
                static[name].copy_(value, non_blocking=True)
        graph.replay()
        return loss.clone()
