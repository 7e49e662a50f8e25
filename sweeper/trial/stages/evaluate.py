"""Steps 2 and 4: zero-shot predictions per language, written in the XTREME layout.

Classification and multiple choice predict with the target's head; retrieval targets
(bucc2018, tatoeba) use mean-pooled hidden states of one layer and cosine similarity,
with no training. Predictions and gold labels go to `<out>/xtreme/{predictions,labels}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import datasets
import torch

from sweeper.scoring import xtreme
from sweeper.catalog import TaskSpec
from sweeper.model.batching import indexed
from sweeper.trial.stages import TrialContext
from sweeper.trial.stages import retrieval
from sweeper.model.train import autocast, scores

EVAL_BATCH = 64


def export_paths(out_dir: Path, task: str, lang: str) -> tuple[Path, Path]:
    name = xtreme.file_name(task, lang)
    return (out_dir / "xtreme" / "predictions" / task / name,
            out_dir / "xtreme" / "labels" / task / name)


@torch.inference_mode()
def head_scores(ctx: TrialContext, task: TaskSpec, ds: datasets.Dataset, batch_size: int
                ) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(row indices, head outputs in float) per length-sorted evaluation batch."""
    for idx, batch in indexed(ds, batch_size, ctx.tokenizer.pad_token_id, None, ["input_ids"]):
        batch = {k: v.to(ctx.device, non_blocking=True) for k, v in batch.items()}
        with autocast(ctx.device):
            yield idx, scores(ctx.model, task.type, task.name, batch).float()


def predict_labels(ctx: TrialContext, task: TaskSpec, ds: datasets.Dataset) -> list[int]:
    """Argmax class (or choice) per example, in the dataset's order."""
    order: list[int] = []
    preds: list[torch.Tensor] = []
    for idx, logits in head_scores(ctx, task, ds, EVAL_BATCH):
        preds.append(logits.argmax(-1))
        order.extend(idx)
    flat = torch.cat(preds).tolist()  # one device->host copy per split
    out = [0] * len(order)
    for i, p in zip(order, flat):
        out[i] = p
    return out


def evaluate_classification(ctx: TrialContext, target: TaskSpec, lang: str) -> None:
    """Predict `target` in `lang` and write predictions and gold labels."""
    ds = ctx.features(target, lang, target.eval_split)
    preds = predict_labels(ctx, target, ds)
    pred_path, gold_path = export_paths(ctx.out_dir, target.name, lang)
    xtreme.write_lines(pred_path, (target.labels[p] for p in preds))
    xtreme.write_lines(gold_path, (target.labels[g] for g in ds["label"]))


def run(ctx: TrialContext, target: TaskSpec, langs: list[str]) -> None:
    """Zero-shot evaluation of `target` on `langs`, exported in the XTREME layout."""
    for lang in langs:
        if target.type == "retrieval":
            retrieval.evaluate(ctx, target, lang, export_paths(ctx.out_dir, target.name, lang))
        elif target.type in ("classification", "pair_classification", "multiple_choice"):
            evaluate_classification(ctx, target, lang)
        else:
            from sweeper.trial.stages import evaluate_structured

            evaluate_structured.evaluate(ctx, target, lang,
                                         export_paths(ctx.out_dir, target.name, lang))
