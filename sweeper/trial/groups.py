"""The six groups of a trial's settings, each field with its `--set` help, flat name and
valid range (sweeper.trial.fields.doc): what a trial can be told.

- `common`: the encoder, the data source and the seed (every stage);
- `intermediate`: phase 1 (which tasks, how long, how batches are drawn);
- `training`: optimisation and features shared by both training phases;
- `target`: phase 2 (which targets, how long);
- `evaluation`: what is evaluated and how;
- `runtime`: where and how fast it runs, never what it computes.

Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import PositiveInt

from sweeper.trial.fields import doc

SAMPLINGS = ("proportional", "uniform", "temperature")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
TINY_LR, DEFAULT_LR = 3e-3, 1e-5


@dataclass(frozen=True)
class CommonSettings:
    """What every stage shares."""

    model: str = doc("encoder: hub id, local path, or 'tiny'", "xlm-roberta-large")
    data: str = doc("data source: 'sample' (synthetic), 'hub', or a local data directory",
                    "sample")
    local_data: dict[str, str] = doc("tasks read from local folders whatever `data` says: "
                                     "task=DIR[,task=DIR] (e.g. ccg=data for CCGbank beside "
                                     "the hub)", {})
    seed: int = doc("random seed (model init, data order, task sampling, dropout)", 0, low=0)


@dataclass(frozen=True)
class IntermediateSettings:
    """Phase 1: multi-task training of the shared encoder."""

    tasks: list[str] = doc("intermediate tasks, trained together (empty: baseline)", [],
                           flag="intermediate")
    epochs: float = doc("passes over the summed intermediate training sets", 3.0,
                        flag="intermediate_epochs", low=0, low_open=True)
    sampling: str = doc("multi-task sampling: proportional, uniform or temperature",
                        "proportional", choices=SAMPLINGS, multi_task=True)
    temperature: float = doc("temperature for temperature sampling (n^(1/T))", 2.0, low=0,
                             low_open=True, multi_task=True)
    steps: int | None = doc("total optimizer steps of the intermediate phase, whatever the "
                            "number of tasks (holds compute constant; replaces epochs)", None,
                            flag="intermediate_steps", low=1)
    examples_cap: int | None = doc("at most this many training examples per intermediate task "
                                   "(the first rows, as X-STILTs' runs capped tasks)", None,
                                   low=1)
    examples_total: int | None = doc("at most this many training examples in all, split "
                                     "evenly over the tasks (each its first N/k rows): the "
                                     "data held fixed whatever the count", None, low=1)
    max_passes: float | None = doc("at most this many passes over any intermediate task's "
                                   "examples (jiant's 3 epochs); a set too small for its step "
                                   "budget trains less", 3.0, low=0, low_open=True)


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation and features shared by both training phases."""

    lr: float | None = doc(f"peak learning rate (default: {DEFAULT_LR:g}, or {TINY_LR:g} for "
                           "tiny)", None, low=0, low_open=True, high=1)
    batch_size: int = doc("examples per optimizer step, the effective batch (of one task, "
                          "drawn per step, in multi-task training); targets may have their "
                          "own (target_batch_size)", 32, low=1)
    weight_decay: float = doc("AdamW weight decay", 0.01, low=0)
    warmup_ratio: float = doc("share of steps with linear warmup", 0.1, low=0, high=1,
                              high_open=True)
    max_seq_len: int | None = doc("max tokens per example (default: each task's catalog "
                                  "max_length)", None, low=8)
    max_train_examples: int | None = doc("cap on each training split (quick runs)", None,
                                         low=1)
    doc_stride: int = doc("QA: overlap between windows of a long context, in tokens", 128,
                          low=1)
    precision: str = doc("'auto' (bf16 on a GPU that has it, else fp32), 'fp32' or 'bf16'",
                         "auto", choices=PRECISIONS)


@dataclass(frozen=True)
class TargetSettings:
    """Phase 2: fine-tuning on each target's English training data."""

    targets: list[str] = doc("XTREME target tasks evaluated by this trial", [])
    epochs: float | None = doc("target fine-tuning epochs (default: catalog's per target)",
                               None, flag="target_epochs", low=0, low_open=True)
    batch_size: dict[str, PositiveInt] = doc("effective batch of some targets, as "
                                             "target=N[,target=N] (default: batch_size)", {},
                                             flag="target_batch_size")


@dataclass(frozen=True)
class EvaluationSettings:
    """Zero-shot evaluation."""

    languages: list[str] = doc("languages or groups to evaluate (empty: all of each target's "
                               "languages)", [], flag="eval_languages")
    max_examples: int | None = doc("cap on each evaluation split, in examples (quick runs)",
                                   None, flag="max_eval_examples", low=1)
    retrieval_layer: int | None = doc("hidden layer pooled for retrieval (default: layer 14 "
                                      "of 24 as XTREME's run_tatoeba.sh, scaled to the "
                                      "model's depth)", None, low=1)
    retrieval_pooling: str = doc("how a sentence's token states become its embedding: "
                                 "'mean' over every token, <s> and </s> included (XTREME's "
                                 "run_tatoeba.sh, jiant) or 'cls' (the first token: "
                                 "run_bucc2018.sh since 2021)", "mean", choices=("mean", "cls"))


@dataclass(frozen=True)
class RuntimeSettings:
    """Where and how fast a trial runs; never part of any key."""

    device: str = doc("'auto' (GPU when there is one), 'cpu' or 'cuda'", "auto",
                      choices=DEVICES)
    cache_dir: str | None = doc("data / feature cache (default: $SWEEPER_CACHE or "
                                "~/.cache/sweeper)", None)
    threads: int | None = doc("CPU threads for torch (default: torch's own choice)", None,
                              low=1)
    micro_batch: str = doc("examples per forward/backward pass: 'auto' (the whole effective "
                           "batch on a CPU, the largest that fits on a GPU) or a number; "
                           "changes no result", "auto")
    compile: str = doc("'off', 'layers' (each encoder layer through torch.compile, static "
                       "shapes: one compiled layer serves all) or 'layers+graphs' (compiled "
                       "in reduce-overhead mode); true/false read as layers/off", "off")
    cuda_graphs: str = doc("'auto' (off until measured faster on a GPU; off on a CPU), "
                           "'on' (the whole step captured per batch shape where a stage "
                           "trains one task in one micro-batch, else the encoder's passes; "
                           "eager, said once, where capture fails) or 'off'", "auto",
                           choices=("auto", "on", "off"))
    length_buckets: str | None = doc("pad training batches to the smallest of a few widths: "
                                     "'auto' (quartiles and maximum of the stage's lengths), "
                                     "'off' (each batch its own) or W1,W2,...; default: auto "
                                     "on a GPU, off on a CPU", None)
