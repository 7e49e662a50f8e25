"""The GPU check: what sweeper's own training loop, evaluation and mining do on one GPU,
in one script that fits a short lease (8 minutes at most; a timeout per section).

It needs only torch and transformers (and numpy, pyarrow, safetensors, filelock, tqdm,
pyyaml, which come with them on usual GPU images): no Ray, MLflow, datasets or pydantic,
no network, no weights (the XLM-R shapes are built from configs in code, random init).
It writes `results.json` (every number, written again after each section, so a cut-off
run keeps what it measured); the caller keeps its log. Sections:

- peak: the bf16 matrix-product rate (8192^3), the ceiling beside the spec;
- train: XLM-R Large, effective batch 32 (as 4 x 8, jiant's, and with the auto
  micro-batch) at 128 and 256 tokens; token classification at 256, QA at 384, multiple
  choice, MLM: examples/s, tokens/s, non-embedding MFU against the spec and the measured
  peak, peak memory, host syncs per step, the SDPA kernel that ran;
- eval: evaluation throughput, the memory-sized batch against a fixed 64;
- bucc: XTREME's mining at 100k x 100k sentences: time and memory;
- parity: the same training on the CPU and on the GPU in fp32, dropout off: losses over
  20 steps, outputs, argmax agreement, per task type;
- share: two processes training on the one GPU at once;
- compile: torch.compile's compile time against its steady-state gain.

    python3 bench/gpu_check.py --out OUT            # on the GPU machine
    python3 bench/gpu_check.py --out OUT --dry-run  # the same code on the CPU, tiny shape
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars: not in a log of 8 files

from sweeper import tasktypes  # noqa: E402
from sweeper.model import memory  # noqa: E402
from sweeper.model.heads import MultiTaskModel  # noqa: E402
from sweeper.model.inference import head_outputs  # noqa: E402
from sweeper.model.train import TrainArgs, TrainTask, train  # noqa: E402

SPEC_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}
SHAPES = {  # XLM-R's published configs; `tiny` for the dry run
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=128),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096),
}
VOCAB = 250002
PAD = 1
RUNS = [  # (name, task type, sequence length, micro-batch: None = auto)
    ("pair_128_4x8", "pair_classification", 128, 4),
    ("pair_128_auto", "pair_classification", 128, None),
    ("pair_256_4x8", "pair_classification", 256, 4),
    ("pair_256_auto", "pair_classification", 256, None),
    ("token_256_auto", "token_classification", 256, None),
    ("qa_384_auto", "qa", 384, None),
    ("choice_128_auto", "multiple_choice", 128, None),
    ("mlm_256_auto", "mlm", 256, None),
]


class Check:
    """Sections run in order, each under its own time limit; results.json after each."""

    def __init__(self, out: Path, dry: bool):
        self.out, self.dry = out, dry
        self.device = torch.device("cpu" if dry or not torch.cuda.is_available() else "cuda")
        self.results: dict[str, Any] = {"dry_run": dry, "device": self.describe()}
        self.started = time.time()

    def describe(self) -> dict[str, Any]:
        import transformers

        info = {"torch": torch.__version__, "transformers": transformers.__version__,
                "kind": self.device.type}
        if self.device.type == "cuda":
            props = torch.cuda.get_device_properties(self.device)
            info.update(name=props.name, memory_gib=props.total_memory / 2**30)
        return info

    def save(self) -> None:
        self.results["elapsed_s"] = time.time() - self.started
        (self.out / "results.json").write_text(json.dumps(self.results, indent=1))

    def run(self, name: str, fn: Callable[[], Any], limit: int) -> None:
        print(f"== {name} (at most {limit} s)", flush=True)
        began = time.time()
        try:
            with _time_limit(limit):
                self.results[name] = fn()
        except Exception as exc:  # one section failing does not lose the others
            kept = self.results.get(name)  # what the section saved before it failed
            self.results[name] = {**(kept if isinstance(kept, dict) else {}),
                                  "error": f"{type(exc).__name__}: {exc}"[:500]}
        self.results.setdefault("seconds", {})[name] = time.time() - began
        print(json.dumps(self.results[name], indent=1)[:3000], flush=True)
        self.save()


class TimeLimit(Exception):
    pass


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def stop(*_: Any) -> None:
        raise TimeLimit(f"over {seconds} s")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


# ------------------------------------------------------------------------ data and models

def synthetic(kind: str, n: int, length: int, vocab: int, seed: int = 0) -> pa.Table:
    """Random token ids, lengths uniform in [length/2, length] (a real length mix), with
    the columns the task type trains on."""
    rng = random.Random(seed)

    def seq() -> list[int]:
        return [0] + [rng.randrange(5, vocab) for _ in range(rng.randint(length // 2,
                                                                         length) - 2)] + [2]

    rows: dict[str, list] = {"input_ids": [], "length": []}
    for _ in range(n):
        if kind == "multiple_choice":
            ids: Any = [seq() for _ in range(4)]
            rows.setdefault("label", []).append(rng.randrange(4))
            rows["length"].append(max(len(c) for c in ids))
        else:
            ids = seq()
            rows["length"].append(len(ids))
            if kind in ("token_classification", "mlm"):
                labels = [rng.randrange(7) if kind != "mlm" else
                          (t if rng.random() < 0.15 else -100) for t in ids]
                rows.setdefault("labels", []).append(labels)
            elif kind == "qa":
                start = rng.randrange(1, len(ids) - 1)
                rows.setdefault("start_positions", []).append(start)
                rows.setdefault("end_positions", []).append(min(len(ids) - 2, start + 3))
            else:
                rows.setdefault("label", []).append(rng.randrange(3))
        rows["input_ids"].append(ids)
    return pa.table(rows)


def encoder(shape: str, vocab: int, dropout: float = 0.1, seed: int = 0):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(seed)
    config = XLMRobertaConfig(vocab_size=vocab, type_vocab_size=1, pad_token_id=PAD,
                              max_position_embeddings=514, attn_implementation="sdpa",
                              hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                              **SHAPES[shape])
    return XLMRobertaModel(config, add_pooling_layer=False)


def with_heads(enc: Any, kinds: list[str], dropout: float = 0.1) -> MultiTaskModel:
    model = MultiTaskModel(enc)
    for kind in kinds:
        k = tasktypes.get(kind)
        outputs = {"pair_classification": 3, "token_classification": 7, "qa": 2,
                   "multiple_choice": 1, "mlm": enc.config.vocab_size}[kind]
        model.add_head(kind, k.head(enc, outputs))
    if not dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    return model


def non_embedding_params(model: MultiTaskModel) -> int:
    return sum(p.numel() for n, p in model.encoder.named_parameters()
               if not n.startswith("embeddings."))


def token_stats(table: pa.Table, kind: str) -> tuple[float, float]:
    """Per example: mean non-pad tokens, and mean summed squared lengths (attention)."""
    tokens = squares = 0
    for ids in table.column("input_ids").to_pylist():
        seqs = ids if kind == "multiple_choice" else [ids]
        tokens += sum(len(s) for s in seqs)
        squares += sum(len(s) ** 2 for s in seqs)
    return tokens / table.num_rows, squares / table.num_rows


@contextmanager
def counting_syncs() -> Iterator[list[str]]:
    """Counts the calls that bring a device value to the host (item, bool, cpu, tolist)."""
    calls: list[str] = []
    originals = {n: getattr(torch.Tensor, n) for n in ("item", "__bool__", "cpu", "tolist")}

    def wrap(name: str):
        def call(self, *args, **kwargs):
            calls.append(name)
            return originals[name](self, *args, **kwargs)
        return call

    for name in originals:
        setattr(torch.Tensor, name, wrap(name))
    try:
        yield calls
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def kernel_profile(model: MultiTaskModel, task: TrainTask, args: TrainArgs,
                   device: torch.device, step_s: float) -> dict[str, Any]:
    """Three steps under the profiler: the attention kernels that ran, the share of a
    step's wall time the GPU spent in kernels (low: the host or launches bound it), and
    the kernels that took most of it."""
    from torch.profiler import ProfilerActivity, profile

    steps = 3 if device.type == "cuda" else 1  # the dry run: that the code runs
    few = TrainArgs.of(**{**args.__dict__, "max_steps": steps})
    on_gpu = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CUDA if on_gpu else ProfilerActivity.CPU]) as prof:
        train(model, [task], few, pad_id=PAD, device=device, desc="profile")
        sync(device)
    events = prof.key_averages()

    def busy(e: Any) -> float:  # microseconds in kernels (the dry run: in CPU operators)
        return float(getattr(e, "self_device_time_total" if on_gpu else "self_cpu_time_total"))

    total = sum(busy(e) for e in events) / 1e6 / steps
    top = sorted(events, key=busy, reverse=True)[:5]
    marks = ("flash", "fmha", "efficient", "cudnn", "attention", "sdpa")
    return {"sdpa_kernels": sorted(e.key[:90] for e in events
                                   if any(m in e.key.lower() for m in marks))[:4],
            "gpu_busy_s_per_step": total, "gpu_busy_share": total / step_s,
            "top_kernels": [[e.key[:70], busy(e) / 1e6 / steps] for e in top]}


# ------------------------------------------------------------------------ sections

def section_peak(check: Check) -> dict[str, Any]:
    n = 256 if check.dry else 8192
    dtype = torch.bfloat16
    a = torch.randn(n, n, device=check.device, dtype=dtype)
    b = torch.randn(n, n, device=check.device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(check.device)
    began, reps = time.perf_counter(), 10
    for _ in range(reps):
        a @ b
    sync(check.device)
    rate = 2 * n**3 * reps / (time.perf_counter() - began)
    name = check.results["device"].get("name", "")
    spec = next((v for k, v in SPEC_BF16.items() if k in name), None)
    return {"matmul_n": n, "tflops": rate / 1e12, "spec_tflops": spec / 1e12 if spec else None}


def _timed_run(check: Check, model: MultiTaskModel, kind: str, length: int,
               micro: int | None, steps: int) -> dict[str, Any]:
    k = tasktypes.get(kind)
    vocab = model.encoder.config.vocab_size
    table = synthetic(kind, 32 * (steps + 4), length, vocab, seed=zlib.crc32(kind.encode()))
    task = TrainTask(kind, k, table, kind)
    precision = "fp32" if check.device.type == "cpu" else "bf16"
    if micro is None:  # auto: what fits (cached in OUT/cache, as a trial's cache)
        micro = memory.micro_batch("auto", model=model, kind=k, head=kind, batch_size=32,
                                   length=length, device=check.device, precision=precision,
                                   cache_root=check.out / "cache")
    args = TrainArgs.of(epochs=None, max_steps=steps, batch_size=32, lr=1e-5, micro_batch=micro,
                     precision=precision, log_every=10**6)
    # the cold pass: the same batches (same lengths) first, so the timed pass meets the
    # kernel plans a long training has already built (cuDNN attention builds one per shape)
    sync(check.device)
    began = time.perf_counter()
    train(model, [task], args, pad_id=PAD, device=check.device, desc="cold")
    sync(check.device)
    cold_s = (time.perf_counter() - began) / steps
    if check.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(check.device)
    sync(check.device)
    began = time.perf_counter()
    with counting_syncs() as calls:
        train(model, [task], args, pad_id=PAD, device=check.device, desc=kind)
    sync(check.device)
    step_s = (time.perf_counter() - began) / steps
    tokens, squares = token_stats(table, kind)
    config = model.encoder.config
    flops = 6 * non_embedding_params(model) * tokens + \
        12 * config.num_hidden_layers * config.hidden_size * squares
    out = {"micro_batch": micro or 32, "step_s": step_s, "examples_per_s": 32 / step_s,
           "tokens_per_s": 32 * tokens / step_s, "tflops": flops * 32 / step_s / 1e12,
           "host_syncs_per_step": len(calls) / steps, "cold_step_s": cold_s}
    if check.device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated(check.device) / 2**30
    out.update(kernel_profile(model, task, args, check.device, step_s))
    return out


def section_train(check: Check) -> dict[str, Any]:
    shape, vocab = ("tiny", 3000) if check.dry else ("large", VOCAB)
    steps = 1 if check.dry else 10
    model = with_heads(encoder(shape, vocab), sorted({k for _, k, _, _ in RUNS}))
    model = model.to(check.device)
    peak = check.results.get("peak", {})
    out: dict[str, Any] = {"shape": shape, "effective_batch": 32,
                           "non_embedding_params": non_embedding_params(model)}
    for name, kind, length, micro in RUNS:
        length = min(length, 64) if check.dry else length
        run = _timed_run(check, model, kind, length, micro, steps)
        for ceiling, key in (("tflops", "mfu_vs_measured_peak"),
                             ("spec_tflops", "mfu_vs_spec_peak")):
            if peak.get(ceiling):
                run[key] = run["tflops"] / peak[ceiling]
        out[name] = run
        check.results["train"] = out
        check.save()
    for length in (128, 256):
        slow, fast = out.get(f"pair_{length}_4x8"), out.get(f"pair_{length}_auto")
        if slow and fast:
            out[f"auto_over_4x8_at_{length}"] = fast["examples_per_s"] / slow["examples_per_s"]
    return out


def section_eval(check: Check) -> dict[str, Any]:
    shape, vocab = ("tiny", 3000) if check.dry else ("large", VOCAB)
    length, n = (64, 256) if check.dry else (256, 4096)
    model = with_heads(encoder(shape, vocab), ["pair_classification"]).to(check.device).eval()
    kind = tasktypes.get("pair_classification")
    table = synthetic("pair_classification", n, length, vocab)
    precision = "fp32" if check.device.type == "cpu" else "bf16"
    sized = memory.eval_batch(64, model=model, kind=kind, head="pair_classification",
                              length=length, device=check.device, precision=precision,
                              cache_root=check.out / "cache")
    out: dict[str, Any] = {"examples": n, "length": length}
    for label, batch in (("fixed_64", 64), ("sized_by_memory", sized)):
        for rep in range(2):  # the first pass warms up
            sync(check.device)
            began = time.perf_counter()
            scores = [s.argmax(-1) for _, s in head_outputs(
                model, kind, "pair_classification", table, batch_size=batch, pad_id=PAD,
                device=check.device, precision=precision)]
            torch.cat(scores).cpu()
            seconds = time.perf_counter() - began
        out[label] = {"batch": batch, "examples_per_s": n / seconds}
    out["sized_over_fixed"] = out["sized_by_memory"]["examples_per_s"] / \
        out["fixed_64"]["examples_per_s"]
    return out


def section_bucc(check: Check) -> dict[str, Any]:
    from sweeper.tasktypes import _mining as mining

    n, dim = (2000, 64) if check.dry else (100_000, 1024)
    gen = torch.Generator(device=check.device).manual_seed(0)
    common = torch.randn(n // 2, dim, device=check.device, generator=gen)

    def side() -> torch.Tensor:
        rows = torch.cat([common + 0.5 * torch.randn(n // 2, dim, device=check.device,
                                                      generator=gen),
                          torch.randn(n - n // 2, dim, device=check.device, generator=gen)])
        return torch.nn.functional.normalize(rows, dim=-1)

    src, tgt = side(), side()
    if check.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(check.device)
    sync(check.device)
    began = time.perf_counter()
    candidates = mining.mine(src, tgt)
    sync(check.device)
    out = {"sentences": [n, n], "dim": dim, "seconds": time.perf_counter() - began,
           "candidates": len(candidates),
           "planted_found": sum(i == j and i < n // 2 for _, i, j in candidates) / (n // 2)}
    if check.device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated(check.device) / 2**30
        out["block_rows"] = mining.block_rows(n, check.device)
    return out


def _parity_run(model: MultiTaskModel, kind: str, table: pa.Table, held: pa.Table,
                device: torch.device) -> tuple[list[float], torch.Tensor]:
    model = model.to(device)
    k = tasktypes.get(kind)
    args = TrainArgs.of(epochs=None, max_steps=20, batch_size=16, lr=1e-4, log_every=1,
                     precision="fp32", seed=3)
    done = train(model, [TrainTask(kind, k, table, kind)], args, pad_id=PAD, device=device,
                 desc=f"{kind} {device.type}")
    outputs = torch.cat([o.flatten(0, 1) if o.dim() == 3 else o for _, o in head_outputs(
        model, k, kind, held, batch_size=64, pad_id=PAD, device=device, precision="fp32")])
    return [p["loss"] for p in done.history], outputs.cpu()


def section_parity(check: Check) -> dict[str, Any]:
    """CPU against the GPU in fp32 (TF32 off), dropout off, from the same weights."""
    shape, vocab = ("tiny", 3000) if check.dry else ("small", 30000)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out: dict[str, Any] = {"shape": shape, "steps": 20}
    for kind in ("pair_classification", "token_classification", "qa", "multiple_choice"):
        start = with_heads(encoder(shape, vocab, dropout=0.0), [kind], dropout=0.0)
        table = synthetic(kind, 16 * 20, 64, vocab, seed=7)
        held = synthetic(kind, 64, 64, vocab, seed=8)
        cpu_loss, cpu_out = _parity_run(copy.deepcopy(start), kind, table, held,
                                        torch.device("cpu"))
        dev_loss, dev_out = _parity_run(copy.deepcopy(start), kind, table, held, check.device)
        out[kind] = {"max_loss_diff": float(np.max(np.abs(np.subtract(cpu_loss, dev_loss)))),
                     "max_output_diff": float((cpu_out - dev_out).abs().max()),
                     "argmax_agreement": float((cpu_out.argmax(-1) == dev_out.argmax(-1))
                                               .float().mean())}
    return out


def _barrier(folder: Path, n: int, wait_s: float = 120.0) -> None:
    """Say this process is ready, then wait until `n` are: the timed parts overlap."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ready-{os.getpid()}").touch()
    limit = time.time() + wait_s
    while len(list(folder.glob("ready-*"))) < n and time.time() < limit:
        time.sleep(0.05)


def worker_share(out: Path, dry: bool, together: int, shape: str = "base",
                 length: int = 128) -> None:
    """One process of the sharing check: build and warm up, wait for the others, train
    for a while, say when it ran."""
    device = torch.device("cpu" if dry or not torch.cuda.is_available() else "cuda")
    shape, vocab, steps = ("tiny", 3000, 3) if dry else (shape, VOCAB, 40)
    model = with_heads(encoder(shape, vocab), ["pair_classification"]).to(device)
    table = synthetic("pair_classification", 32 * (steps + 2), length if not dry else 64, vocab)
    args = TrainArgs.of(epochs=None, max_steps=steps, batch_size=32, lr=1e-5, log_every=10**6,
                     precision="fp32" if device.type == "cpu" else "bf16")
    task = TrainTask("pair_classification", tasktypes.get("pair_classification"), table, "x")
    warm = TrainArgs.of(**{**args.__dict__, "max_steps": 2})
    train(model, [task], warm, pad_id=PAD, device=device, desc="warm")
    sync(device)
    _barrier(out / f"barrier-{together}", together)
    began = time.time()
    train(model, [task], args, pad_id=PAD, device=device, desc="share")
    sync(device)
    print("SHARE " + json.dumps({"start": began, "end": time.time(),
                                 "examples_per_s": 32 * steps / (time.time() - began)}))


def _workers(n: int, check: Check) -> list[dict[str, Any]]:
    cmd = [sys.executable, __file__, "--out", str(check.out), "--worker", "share",
           "--together", str(n)] + (["--dry-run"] if check.dry else [])
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for _ in range(n)]
    found = []
    for proc in procs:
        text, _ = proc.communicate(timeout=240)
        found += [json.loads(line[6:]) for line in text.splitlines() if line.startswith("SHARE ")]
    return found


def section_share(check: Check) -> dict[str, Any]:
    alone = _workers(1, check)
    both = _workers(2, check)
    for n in (1, 2):  # the barriers' marks: not among the files that come back
        shutil.rmtree(check.out / f"barrier-{n}", ignore_errors=True)
    overlap = min(r["end"] for r in both) - max(r["start"] for r in both) if both else 0.0
    span = max(r["end"] for r in both) - min(r["start"] for r in both) if both else 0.0
    out = {"alone_examples_per_s": alone[0]["examples_per_s"] if alone else None,
           "together_examples_per_s": [r["examples_per_s"] for r in both],
           "both_finished": len(both) == 2, "overlap_s": overlap,
           "overlap_share": overlap / span if span > 0 else 0.0}
    if alone and len(both) == 2:
        out["together_over_alone"] = sum(out["together_examples_per_s"]) / \
            out["alone_examples_per_s"]
    return out


def section_compile(check: Check) -> dict[str, Any]:
    if check.device.type != "cuda":
        return {"skipped": "torch.compile is measured on a GPU only (it loses on CPUs)"}
    model = with_heads(encoder("large", VOCAB), ["pair_classification"]).to(check.device)
    eager = _timed_run(check, model, "pair_classification", 256, None, 10)
    out: dict[str, Any] = {"eager_step_s": eager["step_s"],
                           "eager_gpu_busy_share": eager["gpu_busy_share"]}
    check.results["compile"] = out  # kept if the compile runs past the section's limit
    check.save()
    model.compile_encoder()
    began = time.perf_counter()
    compiled = _timed_run(check, model, "pair_classification", 256, None, 10)
    peak = check.results.get("peak", {}).get("tflops")
    out.update(compiled_step_s=compiled["step_s"],
               compiled_gpu_busy_share=compiled["gpu_busy_share"],
               compile_and_run_s=time.perf_counter() - began,
               steady_gain=eager["step_s"] / compiled["step_s"],
               compiled_mfu_vs_measured_peak=compiled["tflops"] / peak if peak else None)
    return out


SECTIONS = [("peak", section_peak, 20), ("train", section_train, 120),
            ("eval", section_eval, 30), ("bucc", section_bucc, 30),
            ("parity", section_parity, 30), ("share", section_share, 60),
            ("compile", section_compile, 190)]  # 480 s in all: 8 minutes at most


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for results.json")
    p.add_argument("--dry-run", action="store_true", help="the tiny shape on the CPU")
    p.add_argument("--only", default="", help="comma-separated sections (default: all)")
    p.add_argument("--worker", choices=["share"], help=argparse.SUPPRESS)
    p.add_argument("--together", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--shape", default="base", help=argparse.SUPPRESS)  # a share worker's
    p.add_argument("--length", type=int, default=128, help=argparse.SUPPRESS)
    opts = p.parse_args()
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if opts.worker:
        worker_share(out, opts.dry_run, opts.together, opts.shape, opts.length)
        return 0
    check = Check(out, opts.dry_run)
    wanted = [s for s in opts.only.split(",") if s]
    for name, fn, limit in SECTIONS:
        if not wanted or name in wanted:  # the dry run: limits for a busy CPU, not a lease
            check.run(name, lambda fn=fn: fn(check), limit * (4 if check.dry else 1))
    check.save()
    failed = [n for n, _, _ in SECTIONS if isinstance(check.results.get(n), dict)
              and "error" in check.results[n]]
    print(f"wrote {out / 'results.json'}; sections with errors: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
