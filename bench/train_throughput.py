"""Training throughput: sweeper's training loop vs transformers.Trainer.

Same model (the encoder + classification head sweeper builds), same tokenized data (MNLI
from the chosen source), same batch size and optimizer settings. Prints examples/s and
non-pad tokens/s of both and their ratio; on a GPU also an MFU estimate (6 x parameters x
tokens/s over the GPU's peak bf16 rate).

  python bench/train_throughput.py                          # tiny model, sample data, CPU
  python bench/train_throughput.py --arch xlm-roberta-large # XLM-R Large shape, random init
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from torch import nn

from sweeper.catalog import load_catalog
from sweeper.data.features import load_features
from sweeper.data.sources import make_source
from sweeper.model.encoders import load_encoder, load_tokenizer
from sweeper.model.heads import MultiTaskModel
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.settings import TrialSettings

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense TFLOP/s


def build_model(arch: str, tokenizer, seed: int) -> MultiTaskModel:
    if arch == "tiny":
        encoder = load_encoder("tiny", tokenizer, seed)
    else:  # the architecture of a hub model, random init (no download of weights)
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(arch, vocab_size=len(tokenizer))
        torch.manual_seed(seed)
        encoder = AutoModel.from_config(config, attn_implementation="sdpa",
                                        add_pooling_layer=False)
    model = MultiTaskModel(encoder)
    model.add_head("mnli", "pair_classification", 3)
    return model


class ForTrainer(nn.Module):
    """The same model, with the (input_ids, attention_mask, labels) -> loss interface."""

    def __init__(self, model: MultiTaskModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.model("mnli", input_ids, attention_mask)
        loss = nn.functional.cross_entropy(logits.float(), labels)
        return {"loss": loss, "logits": logits}


def run_ours(model, data, args: TrainArgs, pad_id: int, device) -> float:
    model.to(device)
    start = time.perf_counter()
    train(model, [TrainTask("mnli", "pair_classification", data)], args, pad_id=pad_id,
          device=device, desc="sweeper")
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def run_trainer(model, data, args: TrainArgs, tokenizer, device, group_by_length: bool) -> float:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    ds = data.rename_column("label", "labels").select_columns(["input_ids", "labels", "length"])
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size,
            num_train_epochs=args.epochs, learning_rate=args.lr, weight_decay=args.weight_decay,
            warmup_steps=args.warmup_ratio, max_grad_norm=args.max_grad_norm, adam_epsilon=1e-8,
            lr_scheduler_type="linear", logging_steps=10 ** 9, save_strategy="no", report_to=[],
            bf16=device.type == "cuda", use_cpu=device.type == "cpu", seed=args.seed,
            train_sampling_strategy="group_by_length" if group_by_length else "random",
            length_column_name="length",
            remove_unused_columns=False, disable_tqdm=True, dataloader_num_workers=0)
        collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)
        trainer = Trainer(model=ForTrainer(model), args=targs, train_dataset=ds,
                          data_collator=lambda rows: collator(
                              [{k: v for k, v in r.items() if k != "length"} for r in rows]))
        start = time.perf_counter()
        trainer.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="tiny", help="tiny, or a hub architecture id")
    p.add_argument("--tokenizer", default="tiny", help="tokenizer (tiny or a hub id)")
    p.add_argument("--data", default="sample")
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--epochs", type=float, default=1.0)
    opts = p.parse_args()
    catalog = load_catalog()
    cache = TrialSettings().cache_root()
    tokenizer = load_tokenizer(opts.tokenizer, catalog, cache)
    source = make_source(opts.data, catalog, cache)
    data = load_features(catalog.task("mnli"), "en", "train", source=source, tokenizer=tokenizer,
                         max_length=opts.max_len, cache_root=cache)
    data = data.select(range(min(opts.examples, len(data))))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args = TrainArgs(epochs=opts.epochs, batch_size=opts.batch_size,
                     lr=3e-3 if opts.arch == "tiny" else 1e-5, log_every=10 ** 9)
    n = int(len(data) * opts.epochs)
    tokens = int(sum(data["length"]) * opts.epochs)
    params = sum(p.numel() for p in build_model(opts.arch, tokenizer, 0).parameters())
    print(f"device {device}, arch {opts.arch} ({params / 1e6:.1f}M params), {n} examples, "
          f"batch {opts.batch_size}, {tokens} tokens")
    results = {}
    for name, fn in [
        ("sweeper", lambda m: run_ours(m, data, args, tokenizer.pad_token_id, device)),
        ("Trainer", lambda m: run_trainer(m, data, args, tokenizer, device, False)),
        ("Trainer+group_by_length", lambda m: run_trainer(m, data, args, tokenizer, device, True)),
    ]:
        seconds = fn(build_model(opts.arch, tokenizer, 0))
        results[name] = seconds
        line = f"{name:<24} {n / seconds:9.1f} examples/s {tokens / seconds:11.0f} tokens/s"
        if device.type == "cuda":
            gpu = torch.cuda.get_device_name()
            peak = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
            if peak:
                line += f"  MFU {6 * params * tokens / seconds / peak:6.1%}"
        print(line)
    for name in ("Trainer", "Trainer+group_by_length"):
        print(f"ratio sweeper / {name}: {results[name] / results['sweeper']:.2f}x examples/s")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
