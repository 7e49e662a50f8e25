"""Retrieval without training: BUCC bitext mining and Tatoeba nearest neighbours, as
XTREME runs them (third_party/utils_retrieve.py).

Sentences are embedded by mean-pooling the hidden states of one encoder layer (layer
14 of 24 for XLM-R Large, as XTREME does; scaled to other depths) and compared by
cosine similarity.

- BUCC: ratio-margin scores (Artetxe & Schwenk, 2019) with k=4 nearest neighbours,
  mined in both directions over every distinct sentence of the split (a whole BUCC
  release holds many without a translation; gold-pair-only data is mined, but marked
  not comparable with XTREME), each sentence used once, best scores first; a mined pair
  of sentences stands for every pair of ids holding them. The score
  threshold is chosen on the DEV split's gold pairs (midway between the score of the
  best-F1 candidate and the next) and applied unchanged to the test split.
- Tatoeba: duplicate sentences are dropped (a repeated sentence has no single right
  answer), the non-English sentences are indexed and the ENGLISH sentences query them.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import torch

from sweeper.errors import SweeperError
from sweeper.model.batching import length_grouped, pad
from sweeper.model.device import autocast
from sweeper.scoring import xtreme
from sweeper.trial.jobs import EvalJob
from sweeper.trial.keys import retrieval_layer
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.inference import example_cap, export_paths

K_NEIGHBOURS = 4
BLOCK = 4096
Candidate = tuple[float, int, int]  # (margin score, source index, target index)

@contextlib.contextmanager
def layers_up_to(encoder: torch.nn.Module, layer: int) -> Iterator[bool]:
    """Run only the first `layer` transformer layers while inside (True), so the output is
    that layer's hidden states without computing the layers above it. Encoders without a
    `encoder.layer` stack (False) run whole and the caller picks the layer."""
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(stack, torch.nn.ModuleList):
        yield False
        return
    encoder.encoder.layer = torch.nn.ModuleList(list(stack)[:layer])
    try:
        yield True
    finally:
        encoder.encoder.layer = stack


@torch.inference_mode()
def embed(ctx: TrialContext, ids: list[list[int]], layer: int, batch_size: int = 64
          ) -> torch.Tensor:
    """L2-normalised mean-pooled hidden states of `layer` for each sequence."""
    pad_id = ctx.tokenizer.pad_token_id
    out = torch.empty(len(ids), ctx.model.hidden_size, device=ctx.device)
    with layers_up_to(ctx.model.encoder, layer) as truncated:
        for idx in length_grouped([len(x) for x in ids], batch_size, None):
            input_ids = pad([ids[i] for i in idx], pad_id).to(ctx.device)
            mask = (input_ids != pad_id)
            with autocast(ctx.device, ctx.precision):
                result = ctx.model.encoder(input_ids=input_ids, attention_mask=mask.long(),
                                           output_hidden_states=not truncated)
            states = result.last_hidden_state if truncated else result.hidden_states[layer]
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


def mine(src: torch.Tensor, tgt: torch.Tensor) -> list[Candidate]:
    """Candidate pairs, best score first: each sentence's best margin partner in both
    directions, a sentence used at most once (XTREME's `retrieval='max'`)."""
    ks, kt = _knn_mean(src, tgt, K_NEIGHBOURS), _knn_mean(tgt, src, K_NEIGHBOURS)
    fwd_score, fwd_idx = _best_margin(src, tgt, ks, kt)
    bwd_score, bwd_idx = _best_margin(tgt, src, kt, ks)
    candidates = [(s, i, j) for i, (s, j) in enumerate(zip(fwd_score.tolist(), fwd_idx.tolist()))]
    candidates += [(s, i, j) for j, (s, i) in enumerate(zip(bwd_score.tolist(), bwd_idx.tolist()))]
    candidates.sort(key=lambda c: -c[0])
    used_src, used_tgt, kept = set(), set(), []
    for score, i, j in candidates:
        if i not in used_src and j not in used_tgt:
            used_src.add(i)
            used_tgt.add(j)
            kept.append((score, i, j))
    return kept


def best_threshold(candidates: list[Candidate], gold: set[tuple[int, int]]) -> float:
    """The score threshold with the best F1 against `gold` (XTREME's bucc_optimize):
    midway between the best-F1 candidate's score and the next one's."""
    ranked = sorted(candidates, key=lambda c: -c[0])
    best_f1, threshold, correct = 0.0, 0.0, 0
    for n, (score, i, j) in enumerate(ranked, start=1):
        correct += (i, j) in gold
        if correct:
            precision, recall = correct / n, correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                following = ranked[n][0] if n < len(ranked) else score
                threshold = (score + following) / 2
    return threshold


def extract(candidates: list[Candidate], threshold: float) -> list[tuple[int, int]]:
    """The pairs whose score reaches `threshold` (XTREME's bucc_extract)."""
    return sorted((i, j) for score, i, j in candidates if score >= threshold)


def first_occurrences(src_ids: list[list[int]], tgt_ids: list[list[int]]) -> list[int]:
    """Rows whose source AND target sentences are seen for the first time."""
    seen_src, seen_tgt, keep = set(), set(), []
    for row, (s, t) in enumerate(zip(src_ids, tgt_ids)):
        s, t = tuple(s), tuple(t)
        if s not in seen_src and t not in seen_tgt:
            keep.append(row)
        seen_src.add(s)
        seen_tgt.add(t)
    return keep


def unique(seqs: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
    """The distinct sequences, and for each the positions holding it (BUCC mines over
    distinct sentences, as LASER's and XTREME's scripts do)."""
    where: dict[tuple[int, ...], list[int]] = {}
    for pos, seq in enumerate(seqs):
        where.setdefault(tuple(seq), []).append(pos)
    return [list(k) for k in where], list(where.values())


def expand(candidates: list[Candidate], src_groups: list[list[int]],
           tgt_groups: list[list[int]]) -> list[Candidate]:
    """Candidates over distinct sentences -> every pair of positions holding them."""
    return [(score, i, j) for score, a, b in candidates
            for i in src_groups[a] for j in tgt_groups[b]]


def nearest(index: torch.Tensor, queries: torch.Tensor) -> list[int]:
    """For each query, the row of `index` with the highest cosine similarity."""
    return torch.cat([(queries[i:i + BLOCK] @ index.T).argmax(1)
                      for i in range(0, len(queries), BLOCK)]).tolist()


def evaluate(ctx: TrialContext, job: EvalJob) -> dict:
    """Embed the split, retrieve, and write predictions and gold labels."""
    ds = ctx.features(job.data, job.lang, job.split)
    ds = ds.select(range(example_cap(ctx, len(ds))))
    layer = retrieval_layer(ctx.settings, ctx.model.encoder.config.num_hidden_layers)
    if job.target.metric == "bucc_f1":
        return _bucc(ctx, job, ds, layer)
    src_ids, tgt_ids = ds["src_ids"], ds["tgt_ids"]
    keep = first_occurrences(src_ids, tgt_ids)
    src_ids, tgt_ids = [src_ids[i] for i in keep], [tgt_ids[i] for i in keep]
    src, tgt = embed(ctx, src_ids, layer), embed(ctx, tgt_ids, layer)
    pred_path, gold_path = export_paths(ctx, job)
    n = len(src_ids)
    # Tatoeba: English queries, non-English index
    xtreme.write_lines(pred_path, (str(j) for j in nearest(src, tgt)))
    xtreme.write_lines(gold_path, (str(i) for i in range(n)))
    return {"sentences": n}


GOLD_ONLY = ("gold pairs only (the hub's bucc18 configs): mining over them is NOT comparable "
             "with XTREME; import the BUCC 2018 release with `sweeper data import bucc2018`")


def bitext(ds) -> tuple[list[int], list[int], list[str], list[str], set[tuple[int, int]], bool]:
    """Which rows hold a source and a target sentence, their ids, and the gold pairs as
    (source position, target position). A whole release (rows with `source_id`) gives
    every sentence, partnered or not; gold-pair data gives its pairs as both sides."""
    n = len(ds)
    if "source_id" not in ds.column_names:
        rows = list(range(n))
        return rows, rows, [f"{i:06d}" for i in rows], [f"{i:06d}" for i in rows], \
            {(i, i) for i in rows}, False
    sid, tid = ds["source_id"], ds["target_id"]
    src_rows = [r for r in range(n) if sid[r]]
    tgt_rows = [r for r in range(n) if tid[r]]
    src_pos = {r: k for k, r in enumerate(src_rows)}
    tgt_pos = {r: k for k, r in enumerate(tgt_rows)}
    gold = {(src_pos[r], tgt_pos[r]) for r in range(n) if sid[r] and tid[r]}
    return src_rows, tgt_rows, [sid[r] for r in src_rows], [tid[r] for r in tgt_rows], gold, True


def _pair_id(lang: str, sid: str) -> str:
    """`de-000123` as the gold files write it, whether `sid` holds the prefix or not."""
    return sid if sid.startswith(f"{lang}-") else f"{lang}-{sid}"


def _bucc(ctx: TrialContext, job: EvalJob, ds, layer: int) -> dict:
    """Mine, choose the threshold on dev (applied unchanged to test), write the pairs."""
    src_rows, tgt_rows, src_names, tgt_names, gold, whole = bitext(ds)
    lang = job.lang
    if not whole:
        print(f"warning: {job.target.name} {lang}/{job.split}: {GOLD_ONLY}", file=sys.stderr)
    src_ids, tgt_ids = ds["src_ids"], ds["tgt_ids"]
    src_unique, src_groups = unique([src_ids[r] for r in src_rows])
    tgt_unique, tgt_groups = unique([tgt_ids[r] for r in tgt_rows])
    src, tgt = embed(ctx, src_unique, layer), embed(ctx, tgt_unique, layer)
    candidates = expand(mine(src, tgt), src_groups, tgt_groups)
    memo = (job.target.name, lang)
    if job.kind == "dev":
        ctx.memo[memo] = best_threshold(candidates, gold)
    elif memo not in ctx.memo:
        raise SweeperError(f"{job.target.name} {lang}: no threshold chosen on the dev split "
                           "(BUCC's test threshold comes from dev)")
    threshold = ctx.memo[memo]
    pairs = extract(candidates, threshold)
    pred_path, gold_path = export_paths(ctx, job)
    xtreme.write_lines(pred_path, (f"{_pair_id(lang, src_names[i])}\t"
                                   f"{_pair_id('en', tgt_names[j])}" for i, j in pairs))
    xtreme.write_lines(gold_path, (f"{_pair_id(lang, src_names[i])}\t"
                                   f"{_pair_id('en', tgt_names[j])}" for i, j in sorted(gold)))
    return {"threshold": threshold, "mining": "all_sentences" if whole else "gold_pairs_only",
            "sentences": [len(src_rows), len(tgt_rows)]}
