"""Retrieval arithmetic on L2-normalised sentence embeddings: BUCC bitext mining (ratio
margins over k nearest neighbours, as XTREME's third_party/utils_retrieve.py) and
Tatoeba's nearest neighbour. Pure torch; blockwise, so memory stays bounded."""

from __future__ import annotations

import torch

K_NEIGHBOURS = 4
BLOCK = 4096
Candidate = tuple[float, int, int]  # (margin score, source index, target index)


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
