"""A `sweeper trial` end to end on CUDA, through the project's own code, against the same
trial on the CPU (issue #31, item 6); one script for a short lease.

Two shapes: `tiny` (the built-in model) and `small` (XLM-R's small shape, hidden 256 and
4 layers, random weights saved to a local folder with the tiny tokenizer: `model=PATH`),
on the synthetic sample data. Per shape three trials of the same settings: on the CPU and
on CUDA in fp32 (the devices compared), and on CUDA with the GPU defaults (bf16, length
buckets `auto`: the time a lease would spend). Each trial's stage times, the device it
ran on and its numbers go to OUT/gpu_trial.json.

Tolerance. The CPU and CUDA draw different dropout masks, so the two fp32 trials are two
samples of one training, not one computation done twice: each target's dev average
within TOLERANCE_POINTS (the sample's dev sets hold 40 examples per language: one example
is 2.5 points) and each training stage's last logged loss within LOSS_REL. The
dropout-free comparison of the loop itself (losses within 1e-6) is bench/gpu_check.py's
`parity` section.

It needs what a trial imports (datasets, pyarrow, tokenizers, pyyaml, pydantic, ...):
where the machine cannot import some, they are listed with why and the script stops
(exit 3); `bench/gpu_wheels.py` fetches the wheels the GPU image lacks, to carry with the
tree (README's GPU section). The versions the trials ran with are recorded.

    python3 bench/gpu_trial.py --out OUT             # on the GPU machine
    python3 bench/gpu_trial.py --out OUT --dry-run   # tiny only; the "CUDA" runs on the CPU
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("torch", "transformers", "datasets", "pyarrow", "tokenizers", "yaml", "pydantic",
          "safetensors", "filelock", "tqdm", "numpy")
TOLERANCE_POINTS = 10.0
LOSS_REL = 0.10
SMALL = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
             intermediate_size=1024, max_position_embeddings=514)
TRIAL = ["--target", "xnli,panx", "--intermediate", "sst2", "--set", "eval_languages=en,de,sw",
         "--set", "intermediate_epochs=1", "--set", "target_epochs=2"]
CAPS = {False: ["--set", "max_train_examples=400", "--set", "max_eval_examples=40"],
        True: ["--set", "max_train_examples=64", "--set", "max_eval_examples=16"]}


def missing() -> list[str]:
    """The modules this machine cannot import, each with why (absent, or a version that
    does not go with the rest: datasets needs a recent pyarrow)."""
    out = []
    for module in NEEDED:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 (any failure to import is reported)
            out.append(f"{module} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
    return out


def versions() -> dict[str, str]:
    """The version of each module the trials ran with."""
    return {m: str(getattr(sys.modules.get(m), "__version__", "?")) for m in NEEDED}


def small_model(folder: Path, cache: Path) -> str:
    """XLM-R's small shape with the tiny tokenizer, random weights (seed 0), saved."""
    sys.path.insert(0, str(ROOT))
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from sweeper.catalog import load_catalog
    from sweeper.trial.environment import load_tokenizer

    tok = load_tokenizer("tiny", load_catalog(), cache)
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                              bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                              type_vocab_size=1, **SMALL)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return str(folder)


def trial(model: str, device: str, extra: list[str], out: Path, env: dict[str, str],
          dry: bool) -> dict[str, Any]:
    """One `sweeper trial`: its wall time, stage times, dev averages and last losses."""
    cmd = [sys.executable, "-m", "sweeper.cli", "trial", *TRIAL, *CAPS[dry], "--model", model,
           "--set", f"device={device}", *extra, "--out", str(out)]
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    info: dict[str, Any] = {"device": device, "settings": extra, "rc": done.returncode,
                            "wall_s": time.perf_counter() - began}
    if done.returncode:
        info["stderr"] = done.stderr[-2000:]
        return info
    metrics = json.loads((out / "metrics.json").read_text())
    info["timings"] = metrics["timings"]
    info["computed_on"] = metrics.get("device")  # what the trial itself recorded
    info["dev"] = {t: s["avg_metric"] for t, s in metrics["dev"]["summary"].items()}
    info["last_loss"] = {stage: v["history"][-1]["loss"]
                         for stage, v in metrics["training"].items() if v.get("history")}
    info["padding_share"] = {stage: v["history"][-1].get("padding_share")
                             for stage, v in metrics["training"].items() if v.get("history")}
    return info


def compare(cpu: dict[str, Any], cuda: dict[str, Any]) -> dict[str, Any]:
    """Dev averages and last losses of the CPU and CUDA trials, against the tolerance."""
    if cpu.get("rc") or cuda.get("rc"):
        return {"within_tolerance": False, "why": "a trial failed"}
    points = {t: abs(cpu["dev"][t] - cuda["dev"][t]) for t in cpu["dev"]}
    losses = {s: abs(cpu["last_loss"][s] - cuda["last_loss"][s]) / abs(cpu["last_loss"][s])
              for s in cpu["last_loss"]}
    return {"dev_points_diff": points, "last_loss_rel_diff": losses,
            "tolerance": {"dev_points": TOLERANCE_POINTS, "loss_rel": LOSS_REL},
            "within_tolerance": all(v <= TOLERANCE_POINTS for v in points.values())
            and all(v <= LOSS_REL for v in losses.values())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "gpu-trial"), help="output folder")
    p.add_argument("--dry-run", action="store_true", help="tiny only, every run on the CPU")
    opts = p.parse_args()
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    lacking = missing()
    if lacking:
        print(f"gpu_trial: this machine lacks {', '.join(lacking)}: carry their wheels "
              "(README, GPU section)", file=sys.stderr)
        return 3
    import torch

    work = out / "work"
    env = {**os.environ, "SWEEPER_CACHE": str(work / "cache"), "TQDM_DISABLE": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    gpu = "cpu" if opts.dry_run or not torch.cuda.is_available() else "cuda"
    results: dict[str, Any] = {"dry_run": opts.dry_run, "gpu_device": gpu,
                               "versions": versions(), "torch":
                               torch.__version__, "name": torch.cuda.get_device_name(0)
                               if gpu == "cuda" else "cpu"}
    shapes = ["tiny"] if opts.dry_run else ["tiny", "small"]
    for shape in shapes:
        model = "tiny" if shape == "tiny" else small_model(work / "small-model", work / "cache")
        fp32 = ["--set", "precision=fp32"]
        runs = {"cpu_fp32": trial(model, "cpu", fp32, work / f"{shape}-cpu", env, opts.dry_run),
                "cuda_fp32": trial(model, gpu, fp32, work / f"{shape}-cuda", env, opts.dry_run)}
        if gpu == "cuda":  # on a CPU the defaults are the fp32 trial's
            runs["cuda_defaults"] = trial(model, gpu, [], work / f"{shape}-cuda-defaults", env,
                                          opts.dry_run)
        results[shape] = {**runs, "cpu_vs_cuda": compare(runs["cpu_fp32"], runs["cuda_fp32"])}
        (out / "gpu_trial.json").write_text(json.dumps(results, indent=1))
        print(json.dumps(results[shape]["cpu_vs_cuda"]), flush=True)
    ok = all(results[s]["cpu_vs_cuda"]["within_tolerance"] for s in shapes)
    print(f"wrote {out / 'gpu_trial.json'}; CPU and {gpu} within tolerance: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
