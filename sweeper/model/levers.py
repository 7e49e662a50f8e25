"""Speed levers of the training step on a GPU: the encoder's forward and backward
captured as CUDA graphs, one per batch shape, and the encoder's layers compiled one by one.

Eager PyTorch spends most of an XLM-R Large step launching kernels (bench/results/
h200.json: the GPU busy 44% of a step). A CUDA graph replays a whole captured forward
and backward with one launch; compiling a layer fuses its small kernels, and one
compiled layer serves all of them (regional compilation: whole-model compile with
dynamic shapes did not finish in 190 s). Both need few distinct shapes: length buckets
(sweeper.model.buckets) give them. Both are runtime settings (in no key): they change
no number but float rounding and the dropout stream (captures run warm-up passes).

- `cuda_graphs`: `auto` (GRAPHS_BY_DEFAULT on a GPU, until a lease measures them
  faster; off on a CPU), `on`, `off`. Applies to an eager encoder only: the whole step
  captured (sweeper.model.whole_step) where the effective batch is one micro-batch,
  else the encoder's forward and backward per shape.
- `compile`: `off`, `layers` (torch.compile's default mode) or `layers+graphs`
  (`reduce-overhead`: the compiled layers replayed as CUDA graphs); `true`/`false` are
  read as `layers`/`off`.

Where a lever cannot run (a CPU, a failed capture) the step runs eagerly and the
reason is said once. The seconds spent compiling or capturing are counted: the first
pass at each new shape, where both happen.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import torch
from torch import nn

from sweeper.errors import one_line
from sweeper.model.lever_settings import COMPILE, compile_mode, graphs_mode
from sweeper.model.whole_step import WholeStep

GRAPHS_BY_DEFAULT = False  # `auto` on a GPU: off until bench/gpu_levers.py finds it faster
GRAPH_LIMIT = 16  # shapes captured at most; later ones run eagerly


class _Encode(nn.Module):
    """The encoder as a module of tensors only (what a graph captures)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state


class Levers:
    """How the encoder runs in training: eagerly, or through per-shape CUDA graphs; its
    layers compiled or not. `say`: where the one-time fallback messages go; `backend`:
    torch.compile's (inductor; `eager` checks the path without a C compiler)."""

    def __init__(self, encoder: nn.Module, *, cuda_graphs: str = "off", compile: Any = "off",
                 device: torch.device | None = None,
                 say: Callable[[str], None] | None = None, backend: str = "inductor"):
        self.encoder, self.device = encoder, device or next(encoder.parameters()).device
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.compile, self.seconds, self.notes = compile_mode(compile), 0.0, []
        self.graphed: dict[tuple, Callable[..., torch.Tensor]] = {}
        self.seen: set[tuple] = set()
        self.pool: Any = None
        mode = graphs_mode(cuda_graphs)
        self.graphs = mode == "on" or (mode == "auto" and GRAPHS_BY_DEFAULT
                                       and self.device.type == "cuda")
        if self.graphs and self.device.type != "cuda":
            self._fallback("cuda_graphs=on: the device is a CPU")
        elif self.graphs and self.compile != "off":
            self._fallback(f"cuda_graphs=on: ignored with compile={self.compile} (use "
                           "compile=layers+graphs for graphs of compiled layers)")
        if self.compile != "off":
            self._compile_layers(backend)
        self.whole = self.graphs  # the whole step captured where it holds (whole_step)
        self.stepper: WholeStep | None = None

    @property
    def total_s(self) -> float:
        """Seconds spent compiling and capturing, the whole step's captures included."""
        return self.seconds + (self.stepper.seconds if self.stepper is not None else 0.0)

    def whole_step(self, model: nn.Module, optimizer: Any, args: Any, heads: list[str]
                   ) -> WholeStep | None:
        """The whole step captured per batch shape, for `cuda_graphs=on` where it holds
        (one task, its effective batch in one micro-batch; else the encoder's passes are
        captured alone), over the loop's optimizer groups less the other tasks' heads
        (the eager step skips what has no gradient). On a CPU (only where a test sets
        `whole`) the same step runs uncaptured."""
        why = "" if self.whole else "off"
        if not why and len(heads) != 1:
            why = "a multi-task phase draws a head per step"
        elif not why and args.micro_batch and args.micro_batch < args.batch_size:
            why = "the effective batch runs in micro-batches"
        if why:
            if why != "off" and why not in self.notes:
                self.notes.append(why)
                self.say(f"cuda_graphs=on: {why}; the encoder's passes are captured, not "
                         "the whole step")
            self.graphs = self.whole and self.device.type == "cuda"
            return None
        mine = {id(p) for p in [*model.encoder.parameters(), *model.heads[heads[0]].parameters()]}
        groups = [{**g, "params": [p for p in g["params"] if id(p) in mine]}
                  for g in optimizer.param_groups]
        self.graphs = False  # inside the whole step's graph: no graph of its own
        optimizer._opt_called = True  # never stepped: its schedule sets the rate read here
        self.stepper = WholeStep(model, groups, max_grad_norm=args.max_grad_norm,
                                 precision=args.precision, device=self.device,
                                 capture=self.device.type == "cuda", say=self.say)
        return self.stepper

    @property
    def active(self) -> bool:
        return self.graphs or self.compile != "off"

    def _fallback(self, why: str) -> None:
        """Eager steps from now on, said once."""
        self.graphs = False
        self.notes.append(why)
        self.say(f"{why}; training steps run eagerly")

    def _compile_layers(self, backend: str = "inductor") -> None:
        """Each encoder layer through torch.compile, in place (the weights and their
        names unchanged), static shapes: one compiled code serves every layer."""
        layers = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if layers is None:
            self.say(f"compile={self.compile}: the encoder has no `encoder.layer` list; "
                     "it runs eagerly")
            self.compile = "off"
            return
        config = torch._dynamo.config  # a shape per bucket and micro-batch size: more
        for name in ("recompile_limit", "cache_size_limit"):  # than the default 8 kept
            if hasattr(config, name):
                setattr(config, name, max(getattr(config, name), 64))
        for layer in layers:
            layer.compile(backend=backend, mode=COMPILE[self.compile], dynamic=False)

    def encode(self, input_ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The encoder's last hidden states of a training batch."""
        key = (tuple(input_ids.shape), None if mask is None else tuple(mask.shape))
        first = key not in self.seen
        began = time.perf_counter()
        out = self._run(input_ids, mask, key)
        if first and self.active:  # where compiling and capturing happen
            self.seen.add(key)
            self.seconds += time.perf_counter() - began
        return out

    def _run(self, input_ids: torch.Tensor, mask: torch.Tensor | None, key: tuple
             ) -> torch.Tensor:
        if self.compile == "layers+graphs":  # the compiled layers' graphs: a new step
            torch.compiler.cudagraph_mark_step_begin()
        fn = self.graphed.get(key) if self.graphs else None
        if fn is None and self.graphs and len(self.graphed) < GRAPH_LIMIT:
            fn = self._capture(input_ids, mask, key)
        if fn is None:
            return self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        return fn(input_ids) if mask is None else fn(input_ids, mask)

    def _capture(self, input_ids: torch.Tensor, mask: torch.Tensor | None, key: tuple
                 ) -> Callable[..., torch.Tensor] | None:
        """The encoder's forward and backward at this shape, as CUDA graphs (under the
        autocast in force, its weight-cast cache off, as capture needs)."""
        sample = (input_ids.clone(),) if mask is None else (input_ids.clone(), mask.clone())
        kind = self.device.type
        try:
            self.pool = self.pool or torch.cuda.graph_pool_handle()
            with torch.autocast(kind, dtype=torch.get_autocast_dtype(kind),
                                enabled=torch.is_autocast_enabled(kind), cache_enabled=False):
                fn = torch.cuda.make_graphed_callables(_Encode(self.encoder), sample,
                                                       pool=self.pool, allow_unused_input=True)
        except Exception as exc:  # a capture that fails leaves eager steps, said once
            self._fallback(f"cuda_graphs: capture failed at shape {key[0]} "
                           f"({one_line(exc, 200)})")
            return None
        self.graphed[key] = fn
        return fn


def build(encoder: nn.Module, runtime: Any, device: torch.device,
          say: Callable[[str], None] | None = None) -> Levers | None:
    """The levers a trial's runtime settings ask for (None: plain eager steps)."""
    levers = Levers(encoder, cuda_graphs=getattr(runtime, "cuda_graphs", "off"),
                    compile=getattr(runtime, "compile", "off"), device=device, say=say)
    return levers if levers.active else None
