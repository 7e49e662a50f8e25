"""Training throughput: sweeper's training loop against transformers.Trainer.

Both train the same model (the encoder + task head sweeper builds, random init from a
config written here: no download), on the same tokenized data, with the same batch size,
optimizer settings and precision, for the same number of optimizer steps. The baseline
is Trainer as its users set it up for speed: `group_by_length` with precomputed lengths,
fused AdamW, SDPA attention, bf16 on a GPU. Repetitions of the two alternate (ABBA...),
so that drift of the machine hits both; the script prints each one's median examples/s
and the median of the per-repetition ratios with its spread (min..max).

Throughput is steady-state: measured from the end of the `--warmup`-th optimizer step to
the end of the last (a global optimizer hook, the same for both loops; on a GPU it
synchronizes at those two steps only). MFU counts useful FLOPs only: 6 x non-embedding
parameters x non-pad tokens, plus bidirectional attention (12 x layers x hidden x
tokens^2 per sequence), against the GPU's dense bf16 peak.

`--floor` adds a third, the bare step: forward, loss, backward, clipping and the optimizer
on the same batches with nothing else. Its ratio to sweeper's loop says how much loop
overhead is left to remove; a loop at the floor can only gain further by computing less.

  python bench/train_throughput.py                    # tiny shape, every task type, CPU
  python bench/train_throughput.py --floor            # also a bare step: loop overhead left
  python bench/train_throughput.py --shapes small     # a compute-bound shape on a CPU
  python bench/train_throughput.py --shapes large --seq-len 128 --steps 40   # on a GPU
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import itertools
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import datasets
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweeper.catalog import load_catalog  # noqa: E402
from sweeper.data.features import load_features  # noqa: E402
from sweeper.data.sources import make_source  # noqa: E402
from sweeper.model.batching import Columns, to_device  # noqa: E402
from sweeper.model.device import autocast  # noqa: E402
from sweeper.model.encoders import TINY_SHAPE  # noqa: E402
from sweeper.model.heads import MultiTaskModel  # noqa: E402
from sweeper.model.train import TrainArgs, TrainTask, train  # noqa: E402
from sweeper.tasktypes import get as task_type_of  # noqa: E402
from sweeper.trial.environment import load_tokenizer  # noqa: E402
from sweeper.trial.settings import TrialSettings, cache_root  # noqa: E402

XLMR_VOCAB = 250002
SHAPES: dict[str, dict[str, int]] = {  # XLM-R's published configs; `small` is compute-bound
    "tiny": TINY_SHAPE,
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=1024, max_position_embeddings=514),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=514),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, max_position_embeddings=514),
}
# task type -> (English training task of the catalog, number of labels)
TASKS = {"pair_classification": ("mnli", 3), "multiple_choice": ("hellaswag", 1),
         "token_classification": ("panx", 7), "qa": ("squad", 2)}
ALIASES = {"pair": "pair_classification", "mc": "multiple_choice",
           "token": "token_classification", "qa": "qa"}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}  # dense FLOP/s


def build_model(shape: str, vocab: int, task_type: str, num_labels: int, seed: int
                ) -> MultiTaskModel:
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(seed)
    config = XLMRobertaConfig(vocab_size=vocab, type_vocab_size=1, pad_token_id=1,
                              attn_implementation="sdpa", **SHAPES[shape])
    model = MultiTaskModel(XLMRobertaModel(config, add_pooling_layer=False))
    kind = task_type_of(task_type)
    model.add_head("task", kind.head(model.encoder, kind.num_outputs(None, ["x"] * num_labels,
                                                                      None)))
    return model


def non_embedding_params(model: MultiTaskModel) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if ".embeddings." not in f".{n}")


# ---------------------------------------------------------------- data


def sample_data(task_type: str, tokenizer, max_len: int) -> datasets.Dataset:
    """The English training split of the task type's catalog task, from the sample data."""
    catalog = load_catalog()
    cache = cache_root(TrialSettings().runtime)
    task = catalog.task(TASKS[task_type][0])
    source, lang = catalog.train_task(task) if task.role == "target" else (task, "en")
    return load_features(source, lang, "train", source=make_source("sample", catalog, cache),
                         tokenizer=tokenizer, max_length=max_len, cache_root=cache)


def synthetic_data(task_type: str, n: int, seq_len: int, vocab: int, seed: int = 0
                   ) -> datasets.Dataset:
    """Random token ids, lengths uniform in [seq_len/2, seq_len] (as a real length mix)."""
    rng = random.Random(seed)

    def seq() -> list[int]:
        return [0] + [rng.randrange(5, vocab) for _ in range(rng.randint(seq_len // 2,
                                                                         seq_len) - 2)] + [2]

    rows: dict[str, list] = {"input_ids": [], "length": []}
    for _ in range(n):
        if task_type == "multiple_choice":
            ids = [seq() for _ in range(4)]
            rows.setdefault("label", []).append(rng.randrange(4))
            rows["length"].append(max(len(c) for c in ids))
        else:
            ids = seq()
            rows["length"].append(len(ids))
            if task_type == "token_classification":
                rows.setdefault("labels", []).append([rng.randrange(7) for _ in ids])
            elif task_type == "qa":
                start = rng.randrange(1, len(ids) - 1)
                rows.setdefault("start_positions", []).append(start)
                rows.setdefault("end_positions", []).append(min(len(ids) - 2, start + 3))
            else:
                rows.setdefault("label", []).append(rng.randrange(3))
        rows["input_ids"].append(ids)
    return datasets.Dataset.from_dict(rows)


def sized(ds: datasets.Dataset, n: int) -> datasets.Dataset:
    """Exactly `n` rows (the split repeated as needed), so every batch is full."""
    keep = [c for c in ("input_ids", "length", "label", "labels", "start_positions",
                        "end_positions") if c in ds.column_names]
    ds = ds.select_columns(keep)
    reps = -(-n // len(ds))
    return datasets.concatenate_datasets([ds] * reps).select(range(n)) if reps > 1 \
        else ds.select(range(n))


def token_stats(ds: datasets.Dataset) -> tuple[float, float]:
    """Per example: mean non-pad tokens and mean sum of squared sequence lengths (a
    multiple-choice example is all its choices)."""
    tokens = squares = 0
    for ids in ds["input_ids"]:
        seqs = ids if isinstance(ids[0], list) else [ids]
        tokens += sum(len(s) for s in seqs)
        squares += sum(len(s) ** 2 for s in seqs)
    return tokens / len(ds), squares / len(ds)


# ---------------------------------------------------------------- timing


class StepClock:
    """Times optimizer steps of any loop through torch's global step hook."""

    def __init__(self, warmup: int, device: torch.device):
        self.warmup, self.device = warmup, device
        self.steps, self.start, self.end = 0, 0.0, 0.0

    def __call__(self, *_: Any) -> None:
        self.steps += 1
        if self.steps == self.warmup or self.steps == self.total:
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            if self.steps == self.warmup:
                self.start = now
            else:
                self.end = now

    def measure(self, fn: Callable[[], None], total: int) -> tuple[float, float]:
        """(seconds per step after the warm-up steps, seconds of the whole call)."""
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self.total, self.steps = total, 0
        handle = register_optimizer_step_post_hook(self)
        began = time.perf_counter()
        try:
            fn()
            if self.device.type == "cuda":
                torch.cuda.synchronize()
        finally:
            handle.remove()
        whole = time.perf_counter() - began
        if self.steps != total:
            raise RuntimeError(f"expected {total} optimizer steps, saw {self.steps}")
        return (self.end - self.start) / (total - self.warmup), whole


def run_sweeper(model: MultiTaskModel, data, task_type: str, args: TrainArgs, device,
                pad_id: int) -> None:
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        train(model, [TrainTask("task", task_type_of(task_type), data)], args, pad_id=pad_id,
              device=device, desc="sweeper")


def run_bare(model: MultiTaskModel, data, task_type: str, args: TrainArgs, device,
             pad_id: int) -> None:
    """The floor: forward, loss, backward, clipping and a fused AdamW step over the same
    batches, with nothing else (no schedule, no task sampling, no logging, no progress)."""
    kind = task_type_of(task_type)
    batches = Columns(data, list(kind.train_columns), pin=device.type == "cuda")
    stream = itertools.cycle([b for _, b in batches.indexed(
        batch_size=args.batch_size, pad_id=pad_id, rng=random.Random(args.seed))])
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, fused=True)
    model.train()
    for _ in range(args.max_steps or 0):
        batch = to_device(next(stream), device)
        with autocast(device, args.precision):
            loss = kind.loss(kind.outputs(model, "task", batch), batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm, foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


class ForTrainer(nn.Module):
    """The same model and loss behind Trainer's batch-as-keyword-arguments interface."""

    def __init__(self, model: MultiTaskModel, task_type: str):
        super().__init__()
        self.model, self.task_type = model, task_type

    def forward(self, input_ids, attention_mask, labels=None, start_positions=None,
                end_positions=None):
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if input_ids.dim() == 3:  # multiple choice: (B, C, L) -> (B*C, L)
            batch = {"input_ids": input_ids.flatten(0, 1),
                     "attention_mask": attention_mask.flatten(0, 1),
                     "num_choices": input_ids.shape[1]}
        if self.task_type == "token_classification":
            batch["labels"] = labels
        elif self.task_type == "qa":
            batch.update(start_positions=start_positions, end_positions=end_positions)
        else:
            batch["label"] = labels
        kind = task_type_of(self.task_type)
        logits = kind.outputs(self.model, "task", batch)
        return {"loss": kind.loss(logits, batch), "logits": logits}


def trainer_collator(task_type: str, tokenizer):
    from transformers import (
        DataCollatorForMultipleChoice,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
    )

    kinds = {"token_classification": DataCollatorForTokenClassification,
             "multiple_choice": DataCollatorForMultipleChoice}
    collator = kinds.get(task_type, DataCollatorWithPadding)(tokenizer, pad_to_multiple_of=8)

    def collate(rows: list[dict]) -> dict:
        batch = collator([{k: v for k, v in r.items() if k != "length"} for r in rows])
        if "label" in batch:
            batch["labels"] = batch.pop("label")
        return batch

    return collate


def run_trainer(model: MultiTaskModel, data, task_type: str, args: TrainArgs, device,
                tokenizer, out: str) -> None:
    from transformers import PrinterCallback, Trainer, TrainingArguments

    targs = TrainingArguments(
        output_dir=out, per_device_train_batch_size=args.batch_size, max_steps=args.max_steps,
        learning_rate=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup_ratio,
        max_grad_norm=args.max_grad_norm, adam_epsilon=1e-8, lr_scheduler_type="linear",
        optim="adamw_torch_fused", bf16=args.precision == "bf16",
        use_cpu=device.type == "cpu", seed=args.seed,
        train_sampling_strategy="group_by_length", length_column_name="length",
        logging_steps=10 ** 9, save_strategy="no", report_to=[], disable_tqdm=True,
        remove_unused_columns=False, dataloader_num_workers=0)
    trainer = Trainer(model=ForTrainer(model, task_type), args=targs, train_dataset=data,
                      data_collator=trainer_collator(task_type, tokenizer))
    trainer.remove_callback(PrinterCallback)  # its end-of-training line, in the table's way
    trainer.train()


# ---------------------------------------------------------------- report


def spread(values: list[float]) -> str:
    if len(values) < 3:
        return f"(n={len(values)}: too few repetitions for a spread)"
    return f"[{min(values):.2f}..{max(values):.2f}, n={len(values)}]"


def bench_one(shape: str, task_type: str, opts, tokenizer, device, precision: str
              ) -> dict[str, Any]:
    _, num_labels = TASKS[task_type]
    vocab = len(tokenizer) if shape == "tiny" else XLMR_VOCAB
    n = opts.batch_size * (opts.steps + 1)
    if opts.seq_len:
        data = synthetic_data(task_type, n, opts.seq_len, min(vocab, len(tokenizer)))
    else:
        data = sized(sample_data(task_type, tokenizer, opts.max_len), n)
    template = build_model(shape, vocab, task_type, num_labels, seed=0)
    args = TrainArgs.of(epochs=1.0, max_steps=opts.steps, batch_size=opts.batch_size,
                     lr=1e-3 if shape == "tiny" else 2e-5, precision=precision,
                     log_every=10 ** 9)
    out = Path(opts.scratch)
    systems = {
        "sweeper": lambda m: run_sweeper(m, data, task_type, args, device,
                                         tokenizer.pad_token_id),
        "Trainer": lambda m: run_trainer(m, data, task_type, args, device, tokenizer,
                                         str(out / "trainer")),
    }
    if opts.floor:
        systems["bare step"] = lambda m: run_bare(m, data, task_type, args, device,
                                                  tokenizer.pad_token_id)
    clock = StepClock(min(opts.warmup, opts.steps - 1), device)
    per_step: dict[str, list[float]] = {k: [] for k in systems}
    per_call: dict[str, list[float]] = {k: [] for k in systems}
    memory: dict[str, int] = {}
    order = list(systems)
    for rep in range(opts.reps + 1):  # repetition 0 warms both up and is not counted
        for name in (order if rep % 2 else order[::-1]):
            model = copy.deepcopy(template).to(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            seconds, whole = clock.measure(lambda m=model: systems[name](m), opts.steps)
            if device.type == "cuda":
                memory[name] = max(memory.get(name, 0), torch.cuda.max_memory_allocated())
            if rep:
                per_step[name].append(seconds)
                per_call[name].append(whole)
            del model
    tokens, squares = token_stats(data)
    per_layer = SHAPES[shape]["num_hidden_layers"] * SHAPES[shape]["hidden_size"]
    flops_per_example = 6 * non_embedding_params(template) * tokens + 12 * per_layer * squares
    result: dict[str, Any] = {"shape": shape, "task_type": task_type, "device": str(device),
                              "precision": precision, "batch_size": opts.batch_size,
                              "steps": opts.steps, "reps": opts.reps,
                              "tokens_per_example": tokens}
    for name, times in per_step.items():
        result[name] = {"examples_per_s": [opts.batch_size / t for t in times]}
        if name in memory:
            result[name]["peak_memory_gib"] = memory[name] / 2 ** 30
    ratios = [b / a for a, b in zip(per_step["sweeper"], per_step["Trainer"])]
    result["ratio"] = {"median": statistics.median(ratios), "all": ratios}
    whole = [b / a for a, b in zip(per_call["sweeper"], per_call["Trainer"])]
    result["phase_ratio"] = {"median": statistics.median(whole), "all": whole}
    if opts.floor:  # how close the loop comes to the bare step (1.0: no overhead left)
        floor = [b / a for a, b in zip(per_step["sweeper"], per_step["bare step"])]
        result["loop_vs_bare"] = {"median": statistics.median(floor), "all": floor}
    peak = None
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
    for name in systems:
        rate = statistics.median(result[name]["examples_per_s"])
        result[name]["median_examples_per_s"] = rate
        if peak and precision == "bf16":
            result[name]["mfu"] = rate * flops_per_example / peak
    return result


def show(r: dict[str, Any]) -> str:
    lines = [f"{r['shape']} / {r['task_type']} ({r['device']}, {r['precision']}, batch "
             f"{r['batch_size']}, {r['tokens_per_example']:.0f} tokens/example)"]
    for name in ("sweeper", "Trainer", "bare step"):
        if name not in r:
            continue
        s = r[name]
        line = f"  {name:<9} {s['median_examples_per_s']:9.1f} examples/s"
        if "mfu" in s:
            line += f"  MFU {s['mfu']:6.1%}"
        if "peak_memory_gib" in s:
            line += f"  peak {s['peak_memory_gib']:.1f} GiB"
        lines.append(line)
    lines.append(f"  ratio sweeper/Trainer, steady state: median {r['ratio']['median']:.2f}x "
                 f"{spread(r['ratio']['all'])}")
    lines.append(f"  ratio sweeper/Trainer, whole phase of {r['steps']} steps (setup included): "
                 f"median {r['phase_ratio']['median']:.2f}x {spread(r['phase_ratio']['all'])}")
    if "loop_vs_bare" in r:
        lines.append(f"  sweeper's loop / bare step, steady state: median "
                     f"{r['loop_vs_bare']['median']:.2f}x {spread(r['loop_vs_bare']['all'])}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default="tiny", help=f"comma list of {', '.join(SHAPES)}")
    p.add_argument("--types", default="pair,mc,token,qa",
                   help=f"comma list of {', '.join(ALIASES)} (task types)")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions of each loop")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps per repetition")
    p.add_argument("--warmup", type=int, default=10, help="steps before the clock starts")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-len", type=int, default=128, help="truncation of the sample data")
    p.add_argument("--seq-len", type=int, default=0,
                   help="synthetic sequences of lengths in [L/2, L] instead of sample data")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--precision", default="auto", help="auto (bf16 on a GPU), fp32 or bf16")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--floor", action="store_true",
                   help="also time a bare step (forward, backward, optimizer; nothing else) "
                        "on the same batches: how much loop overhead is left")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--scratch", default="/tmp/sweeper-bench", help="Trainer's output folder")
    opts = p.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    datasets.disable_progress_bars()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from sweeper.model.device import pick_device

    device = pick_device(opts.device)
    precision = opts.precision if opts.precision != "auto" else (
        "bf16" if device.type == "cuda" else "fp32")
    tokenizer = load_tokenizer("tiny", load_catalog(), cache_root(TrialSettings().runtime))
    results = []
    for shape in opts.shapes.split(","):
        for alias in opts.types.split(","):
            r = bench_one(shape, ALIASES[alias], opts, tokenizer, device, precision)
            print(show(r), flush=True)
            results.append(r)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
