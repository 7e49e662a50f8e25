"""Retrieval without training: BUCC bitext mining and Tatoeba nearest neighbours.

Sentences are embedded by mean-pooling the hidden states of one encoder layer (layer
14 of 24 for XLM-R Large, as XTREME does; scaled to other depths) and compared by
cosine similarity. BUCC uses ratio-margin scores (Artetxe & Schwenk, 2019) with k=4
nearest neighbours, mines in both directions, and keeps the pairs above the score
threshold with the best F1.
"""

from __future__ import annotations

import torch

from sweeper.catalog import TaskSpec
from sweeper.model.batching import length_grouped, pad
from sweeper.model.device import autocast
from sweeper.scoring import xtreme
from sweeper.trial.keys import retrieval_layer
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.inference import example_cap, export_paths

K_NEIGHBOURS = 4
BLOCK = 4096


@torch.inference_mode()
def embed(ctx: TrialContext, ids: list[list[int]], layer: int, batch_size: int = 64
          ) -> torch.Tensor:
    """L2-normalised mean-pooled hidden states of `layer` for each sequence."""
    pad_id = ctx.tokenizer.pad_token_id
    out = torch.empty(len(ids), ctx.model.hidden_size, device=ctx.device)
    for idx in length_grouped([len(x) for x in ids], batch_size, None):
        input_ids = pad([ids[i] for i in idx], pad_id).to(ctx.device)
        mask = (input_ids != pad_id)
        with autocast(ctx.device, ctx.precision):
            states = ctx.model.encoder(input_ids=input_ids, attention_mask=mask.long(),
                                       output_hidden_states=True).hidden_states[layer]
        m = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * m).sum(1) / m.sum(1).clamp(min=1)
        out[torch.tensor(idx, device=ctx.device)] = pooled.float()
    return torch.nn.functional.normalize(out, dim=-1)


def _knn_mean(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """Mean cosine of each row of `a` to its k nearest rows of `b`, blockwise."""
    k = min(k, len(b))
    return torch.cat([(a[i:i + BLOCK] @ b.T).topk(k, dim=1).values.mean(1)
                      for i in range(0, len(a), BLOCK)])


def _best_margin(a: torch.Tensor, b: torch.Tensor, ka: torch.Tensor, kb: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of `a`: best ratio-margin score over `b` and its index."""
    scores, index = [], []
    for i in range(0, len(a), BLOCK):
        margin = (a[i:i + BLOCK] @ b.T) / ((ka[i:i + BLOCK, None] + kb[None, :]) / 2)
        best = margin.max(dim=1)
        scores.append(best.values)
        index.append(best.indices)
    return torch.cat(scores), torch.cat(index)


def mine(src: torch.Tensor, tgt: torch.Tensor, gold: set[tuple[int, int]]
         ) -> list[tuple[int, int]]:
    """Margin-mined (src, tgt) pairs above the F1-optimal threshold against `gold`."""
    ks, kt = _knn_mean(src, tgt, K_NEIGHBOURS), _knn_mean(tgt, src, K_NEIGHBOURS)
    fwd_score, fwd_idx = _best_margin(src, tgt, ks, kt)
    bwd_score, bwd_idx = _best_margin(tgt, src, kt, ks)
    candidates = [(s, i, j) for i, (s, j) in enumerate(zip(fwd_score.tolist(), fwd_idx.tolist()))]
    candidates += [(s, i, j) for j, (s, i) in enumerate(zip(bwd_score.tolist(), bwd_idx.tolist()))]
    candidates.sort(key=lambda c: -c[0])
    used_src, used_tgt, kept = set(), set(), []
    for _, i, j in candidates:
        if i not in used_src and j not in used_tgt:
            used_src.add(i)
            used_tgt.add(j)
            kept.append((i, j))
    best_f1, best_n, correct = -1.0, 0, 0
    for n, pair in enumerate(kept, start=1):  # kept is in descending score order
        correct += pair in gold
        f1 = 2 * correct / (n + len(gold))
        if f1 > best_f1:
            best_f1, best_n = f1, n
    return kept[:best_n]


def evaluate(ctx: TrialContext, target: TaskSpec, lang: str, split: str) -> None:
    """Embed the split, retrieve, and write predictions and gold labels."""
    ds = ctx.features(target, lang, split)
    ds = ds.select(range(example_cap(ctx, len(ds))))
    layer = retrieval_layer(ctx.settings, ctx.model.encoder.config.num_hidden_layers)
    src = embed(ctx, ds["src_ids"], layer)
    tgt = embed(ctx, ds["tgt_ids"], layer)
    pred_path, gold_path = export_paths(ctx, target, lang)
    n = len(ds)
    if target.metric == "bucc_f1":
        pairs = mine(src, tgt, {(i, i) for i in range(n)})
        xtreme.write_lines(pred_path, (f"{lang}-{i:06d}\ten-{j:06d}" for i, j in sorted(pairs)))
        xtreme.write_lines(gold_path, (f"{lang}-{i:06d}\ten-{i:06d}" for i in range(n)))
    else:
        nearest = torch.cat([(src[i:i + BLOCK] @ tgt.T).argmax(1)
                             for i in range(0, n, BLOCK)]).tolist()
        xtreme.write_lines(pred_path, (str(j) for j in nearest))
        xtreme.write_lines(gold_path, (str(i) for i in range(n)))
