"""The levers of the training step, measured one by one on one GPU (issue #31), in one
script that fits a short lease (8 minutes at most; a time limit per variant).

XLM-R Large from a config (random weights), pair classification at effective batch
32 x 256 with lengths spread 128-256, bf16, the same batches in the same order for every
variant (the order today's `train()` draws with its seed):

- train: today's `sweeper.model.train.train()` (dynamic padding, pinned host batches);
- bare: a bare loop (the same step: autocast, fused AdamW, foreach clipping) over
  batches staged on the GPU beforehand;
- buckets: bare, batches padded to the `auto` length buckets (sweeper.model.buckets);
- graphs: buckets, the encoder's forward and backward captured per bucket
  (sweeper.model.levers, cuda_graphs=on);
- whole_step: buckets, the whole step captured per bucket (sweeper.model.whole_step:
  forward, backward, clipping and AdamW(fused, capturable) with the learning rate as a
  device tensor; uncaptured on a CPU);
- compiled / compiled_graphs: buckets, each encoder layer compiled (sweeper.model.levers,
  compile=layers: default mode; layers+graphs: reduce-overhead);
- bf16_copies: buckets, forward and backward on bf16 copies of the weights (no autocast
  casts), fp32 master weights in the optimizer;
- upper_bound: every row 256 tokens, no mask, dynamic shapes unused: the ceiling.

Per variant: step ms after warm-up (set-up excluded; for train() the difference of two
runs' times over their difference in steps), GPU-busy ms per step (torch.profiler),
TFLOP/s of the real tokens and non-embedding MFU against the measured bf16 peak, peak
memory, set-up seconds (compile or capture), the losses of 5 steps with dropout off
against the bare eager loop's (parity), and the ratio of examples/s to train(). The JSON
(`levers.json`) holds the section `levers`, with `best_over_train`. It needs torch and
transformers only (numpy, pyarrow and safetensors come with them), as bench/gpu_check.py.

    python3 bench/gpu_levers.py --out OUT            # on the GPU machine
    python3 bench/gpu_levers.py --out OUT --dry-run  # tiny shape on the CPU, eager variants
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_check as gc  # noqa: E402  (also puts the repository on sys.path)
from gpu_steps import STEPPERS, Setup  # noqa: E402

from sweeper import tasktypes  # noqa: E402
from sweeper.model import buckets  # noqa: E402
from sweeper.model.batching import Columns, to_device  # noqa: E402
from sweeper.model.train import TrainArgs, TrainTask, train  # noqa: E402

HEAD = "pair_classification"
CUDA_ONLY = {"graphs", "compiled", "compiled_graphs"}  # whole_step: uncaptured on a CPU
LIMITS = {"train": 45, "bare": 25, "buckets": 25, "graphs": 45, "whole_step": 45,
          "compiled": 80, "compiled_graphs": 80, "bf16_copies": 25, "upper_bound": 20}
PARITY_STEPS = 5


class LeverCheck(gc.Check):
    """gpu_check's sections with their time limits; writes levers.json."""

    def save(self) -> None:
        self.results["elapsed_s"] = time.time() - self.started
        (self.out / "levers.json").write_text(json.dumps(self.results, indent=1))


def set_dropout(model: torch.nn.Module, p: float) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def _setup(check: LeverCheck) -> Setup:
    """The model, its starting weights, the table and the batch order of every variant."""
    dry = check.dry
    shape, vocab, length, batch = ("tiny", 3000, 64, 8) if dry else ("large", gc.VOCAB, 256, 32)
    steps = 3 if dry else 10
    n_batches = steps + PARITY_STEPS
    table = gc.synthetic("pair_classification", batch * (n_batches + 2), length, vocab, seed=5)
    model = gc.with_heads(gc.encoder(shape, vocab), [HEAD]).to(check.device)
    pin = check.device.type == "cuda"
    columns = Columns(table, ["input_ids", "label"], pin, "sdpa")
    seed = 0  # train()'s first task stream draws its order with random.Random(seed * 1000)
    order = columns.order(batch, random.Random(seed * 1000))
    order = [idx for idx in order if len(idx) == batch][:n_batches]
    widths = buckets.derive(columns.lengths)
    return Setup(device=check.device, dry=dry, model=model,
                 start={k: v.detach().clone() for k, v in model.state_dict().items()},
                 kind=tasktypes.get(HEAD), table=table, columns=columns, order=order,
                 widths=widths, batch=batch, length=length, steps=steps,
                 precision="fp32" if check.device.type == "cpu" else "bf16", seed=seed)


def staged(s: Setup, widths: tuple[int, ...], full: bool = False) -> list[dict[str, Any]]:
    """The batches of the order on the device, padded dynamically or to `widths`;
    `full`: every row made `length` tokens long, no mask (the upper bound)."""
    out = []
    for idx in s.order:
        b = s.columns.batch(idx, gc.PAD, widths)
        if full:
            b["input_ids"] = torch.randint(5, 100, (len(idx), s.length))
            b["attention_mask"] = None
        out.append(to_device(b, s.device))
    return out


def flops(s: Setup, batches: list[dict[str, Any]], full: bool) -> float:
    """Non-embedding training FLOPs per step over the real tokens (as gpu_check)."""
    config = s.model.encoder.config
    tokens = squares = 0
    for idx in s.order[PARITY_STEPS:]:
        lengths = [s.length] * len(idx) if full else [s.columns.lengths[i] for i in idx]
        tokens += sum(lengths)
        squares += sum(n * n for n in lengths)
    n = len(s.order) - PARITY_STEPS
    return (6 * gc.non_embedding_params(s.model) * tokens
            + 12 * config.num_hidden_layers * config.hidden_size * squares) / n


def busy_ms(s: Setup, step: Callable[[dict[str, Any]], Any], batches: list[dict]) -> float:
    """Milliseconds per step the device spent in kernels (the CPU: in operators)."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = s.device.type == "cuda"
    few = batches[:3]
    with profile(activities=[ProfilerActivity.CUDA if on_gpu else ProfilerActivity.CPU]) as p:
        for b in few:
            step(b)
        gc.sync(s.device)
    key = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    # an operator's self time can come out below zero on a loaded CPU (its children's
    # clocks run past its own): counted as none
    return sum(max(0.0, float(getattr(e, key))) for e in p.key_averages()) / 1e3 / len(few)


def timed(s: Setup, step: Callable[[dict[str, Any]], Any], batches: list[dict]) -> float:
    """Seconds per step over the timing batches, after one warm pass over them."""
    for b in batches:
        step(b)
    gc.sync(s.device)
    began = time.perf_counter()
    for b in batches:
        step(b)
    gc.sync(s.device)
    return (time.perf_counter() - began) / len(batches)


def run_variant(s: Setup, name: str, parity_ref: list[float] | None,
                out: dict[str, Any]) -> None:
    """Timing, profile and memory with dropout on, then parity (dropout off, 5 steps from
    the starting weights), for one variant, into `out` as they come (a variant cut off by
    its time limit, a compiled one compiling again for dropout off, keeps its timing)."""
    full = name == "upper_bound"
    widths = () if name == "bare" else ((s.length,) if full else s.widths)
    batches = staged(s, widths, full)
    out["widths"] = list(widths) or "dynamic"
    s.model.load_state_dict(s.start)
    set_dropout(s.model, 0.1)
    stepper = STEPPERS[name](s, 10**6)
    if s.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(s.device)
    began = time.perf_counter()
    step_s = timed(s, stepper.step, batches[PARITY_STEPS:])
    out.update(step_ms=step_s * 1e3, examples_per_s=s.batch / step_s,
               setup_s=time.perf_counter() - began - 2 * step_s * (len(batches) - PARITY_STEPS),
               tflops=flops(s, batches, full) / step_s / 1e12,
               busy_ms=busy_ms(s, stepper.step, batches[PARITY_STEPS:]),
               notes=getattr(stepper, "notes", []))
    if getattr(stepper, "seconds", 0.0):
        out["compile_or_capture_s"] = stepper.seconds
    if s.device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated(s.device) / 2**30
    del stepper
    s.model.load_state_dict(s.start)
    set_dropout(s.model, 0.0)
    began = time.perf_counter()
    stepper = STEPPERS[name](s, PARITY_STEPS)  # the schedule train() runs over 5 steps
    out["losses_dropout_off"] = [float(stepper.step(b)) for b in batches[:PARITY_STEPS]]
    out["parity_phase_s"] = time.perf_counter() - began
    set_dropout(s.model, 0.1)
    if parity_ref is not None and not full:
        out["max_rel_loss_diff"] = max(abs(a - b) / max(abs(b), 1e-12)
                                       for a, b in zip(out["losses_dropout_off"], parity_ref))


def run_train(s: Setup) -> dict[str, Any]:
    """Today's train(): per step from two runs of different lengths (set-up cancels)."""
    task = TrainTask(HEAD, s.kind, s.table, HEAD)

    def run(steps: int, dropout: float, log: int = 10**6) -> tuple[float, Any]:
        s.model.load_state_dict(s.start)
        set_dropout(s.model, dropout)
        args = TrainArgs.of(epochs=None, max_steps=steps, batch_size=s.batch, lr=1e-5,
                         precision=s.precision, log_every=log, seed=s.seed)
        gc.sync(s.device)
        began = time.perf_counter()
        done = train(s.model, [task], args, pad_id=gc.PAD, device=s.device, desc="train")
        gc.sync(s.device)
        return time.perf_counter() - began, done

    _, parity = run(PARITY_STEPS, 0.0, log=1)
    run(s.steps, 0.1)  # cold: the kernel plans of every width met once
    if s.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(s.device)
    short, _ = run(2, 0.1)
    long, _ = run(s.steps + 2, 0.1)
    step_s = (long - short) / s.steps
    out = {"step_ms": step_s * 1e3, "examples_per_s": s.batch / step_s,
           "losses_dropout_off": [p["loss"] for p in parity.history],
           "tflops": flops(s, [], False) / step_s / 1e12, "widths": "dynamic"}
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CUDA if s.device.type == "cuda" else ProfilerActivity.CPU]
    with profile(activities=acts) as p:
        run(3, 0.1)
    key = "self_device_time_total" if s.device.type == "cuda" else "self_cpu_time_total"
    out["busy_ms"] = sum(float(getattr(e, key)) for e in p.key_averages()) / 1e3 / 3
    if s.device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated(s.device) / 2**30
    return out


def summarise(results: dict[str, Any], peak: float | None) -> None:
    """MFU, the ratio to train() and the best variant, printed as a table."""
    base = results.get("train", {}).get("examples_per_s")
    ref = results.get("bare", {}).get("losses_dropout_off")
    best = None
    print("| variant | step ms | busy ms | TFLOP/s | MFU | x train() | parity |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if not isinstance(r, dict):
            continue  # the shape, batch, widths
        if "step_ms" not in r:
            print(f"| {name} | {r.get('skipped') or r.get('error')} | | | | | |")
            continue
        if peak:
            r["mfu_vs_measured_peak"] = r["tflops"] / peak
        if base:
            r["over_train"] = r["examples_per_s"] / base
        if name == "train" and ref:
            r["max_rel_loss_diff"] = max(abs(a - b) / max(abs(b), 1e-12)
                                         for a, b in zip(r["losses_dropout_off"], ref))
        if name not in ("train", "upper_bound") and (best is None or r["examples_per_s"] >
                                                     results[best]["examples_per_s"]):
            best = name
        print(f"| {name} | {r['step_ms']:.1f} | {r.get('busy_ms', 0):.1f} | "
              f"{r['tflops']:.2f} | {r.get('mfu_vs_measured_peak', 0):.1%} | "
              f"{r.get('over_train', 0):.2f} | {r.get('max_rel_loss_diff', 0):.1e} |")
    results["best"] = best
    results["best_over_train"] = results[best]["examples_per_s"] / base if best and base \
        else None
    print(f"best: {best}, {results['best_over_train'] or 0:.2f}x today's train()")


def section_levers(check: LeverCheck) -> dict[str, Any]:
    s = _setup(check)
    out: dict[str, Any] = {"shape": "tiny" if s.dry else "large", "batch": s.batch,
                           "length": s.length, "widths": list(s.widths), "steps": s.steps}
    check.results["levers"] = out
    for name, limit in LIMITS.items():
        print(f"-- {name} (at most {limit} s)", flush=True)
        began = time.time()
        if name in CUDA_ONLY and s.device.type != "cuda":
            out[name] = {"skipped": "needs CUDA"}
            print(f"{name}: needs CUDA (the dry run runs the eager variants only)")
            continue
        out[name] = {}
        try:
            with gc._time_limit(limit * (4 if s.dry else 1)):
                if name == "train":
                    out[name] = run_train(s)
                else:
                    run_variant(s, name, out["bare"].get("losses_dropout_off"), out[name])
        except Exception as exc:  # one variant failing keeps the others (and its timing)
            out[name]["error"] = f"{type(exc).__name__}: {exc}"[:500]
        out[name]["seconds"] = time.time() - began
        check.save()
    summarise(out, check.results.get("peak", {}).get("tflops"))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench/results", help="folder for levers.json")
    p.add_argument("--dry-run", action="store_true", help="the tiny shape on the CPU")
    opts = p.parse_args()
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    check = LeverCheck(out, opts.dry_run)
    check.run("peak", lambda: gc.section_peak(check), 20)
    try:  # each variant under its own limit (410 s in all with the peak's)
        check.results["levers"] = section_levers(check)
    except Exception as exc:  # the set-up failed: what was measured is kept
        check.results.setdefault("levers", {})["error"] = f"{type(exc).__name__}: {exc}"[:500]
    check.save()
    levers = check.results.get("levers", {})
    print(f"wrote {out / 'levers.json'}; best over train(): {levers.get('best_over_train')}")
    return 0 if "error" not in levers else 1


if __name__ == "__main__":
    sys.exit(main())
