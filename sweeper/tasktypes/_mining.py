"""Retrieval arithmetic as XTREME's third_party/utils_retrieve.py does it, on L2-normalised
sentence embeddings, in torch, blockwise (blocks sized to the device's free memory; TF32
matrix products on GPUs).

BUCC (`mine_bitext` with its defaults: mode 'mine', retrieval 'max', margin 'ratio',
k = 4, threshold 0): each sentence's k nearest neighbours on the other side; a candidate's
score is its cosine over the mean of both sentences' k-NN cosines (the ratio margin);
each sentence's best-scoring neighbour is its candidate, in both directions; candidates
are taken best first, each sentence at most once. `read_sent2id` then maps sentences to
ids, DROPPING every sentence that occurs more than once; a pair keeps its best score.
`bucc_optimize` picks the score threshold of the best F1 against gold pairs (midway to
the next score), `bucc_extract` keeps the pairs that reach it. Tatoeba
(`similarity_search`): each query's nearest indexed row, no de-duplication.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

K_NEIGHBOURS = 4
Candidate = tuple[float, int, int]  # (margin score, source index, target index)


def block_rows(n_cols: int, device: torch.device, share: float = 0.25) -> int:
    """Rows of an n_cols-wide float32 score block that fit `share` of the free memory
    (a fixed 4096 on CPUs)."""
    if device.type != "cuda":
        return 4096
    free, _ = torch.cuda.mem_get_info(device)
    return max(256, int(share * free / (4 * max(1, n_cols) * 3)))


@contextlib.contextmanager
def _tf32(device: torch.device) -> Iterator[None]:
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def knn(x: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(cosines, indices) of each row of `x`'s k nearest rows of `y`, best first."""
    k = min(k, len(y))
    rows = block_rows(len(y), x.device)
    sims, index = [], []
    with _tf32(x.device):
        for i in range(0, len(x), rows):
            top = (x[i:i + rows] @ y.T).topk(k, dim=1)
            sims.append(top.values)
            index.append(top.indices)
    return torch.cat(sims), torch.cat(index)


def _best(sim: torch.Tensor, ind: torch.Tensor, mean_a: torch.Tensor, mean_b: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the best ratio-margin score among its neighbours, and that neighbour."""
    scores = sim / ((mean_a[:, None] + mean_b[ind]) / 2)
    best = scores.argmax(dim=1)
    return scores.gather(1, best[:, None]).squeeze(1), ind.gather(1, best[:, None]).squeeze(1)


def mine(src: torch.Tensor, tgt: torch.Tensor, k: int = K_NEIGHBOURS,
         threshold: float = 0.0) -> list[Candidate]:
    """Candidate pairs over (distinct) sentences, best score first, each sentence used
    once, scores above `threshold` (XTREME's mine_bitext, mode 'mine', retrieval 'max')."""
    x2y_sim, x2y_ind = knn(src, tgt, k)
    y2x_sim, y2x_ind = knn(tgt, src, k)
    x2y_mean, y2x_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    fwd_score, fwd_best = _best(x2y_sim, x2y_ind, x2y_mean, y2x_mean)
    bwd_score, bwd_best = _best(y2x_sim, y2x_ind, y2x_mean, x2y_mean)
    n, m = len(src), len(tgt)
    sources = torch.cat([torch.arange(n, device=src.device), bwd_best]).tolist()
    targets = torch.cat([fwd_best, torch.arange(m, device=src.device)]).tolist()
    scores = torch.cat([fwd_score, bwd_score]).float().cpu()
    order = torch.argsort(-scores, stable=True).tolist()
    scores_list = scores.tolist()
    seen_src, seen_tgt, kept = set(), set(), []
    for c in order:
        i, j = sources[c], targets[c]
        if i not in seen_src and j not in seen_tgt:
            seen_src.add(i)
            seen_tgt.add(j)
            if scores_list[c] > threshold:
                kept.append((scores_list[c], i, j))
    return kept


def sent2id(texts: list[str], ids: list[str]) -> dict[str, str]:
    """Sentence -> id, without the sentences that occur more than once (XTREME's
    read_sent2id: a repeated sentence has no single id, so it is dropped)."""
    out: dict[str, str] = {}
    repeated = set()
    for sent_id, text in zip(ids, texts):
        text = text.strip()
        if text in out:
            repeated.add(text)
        else:
            out[text] = sent_id
    for text in repeated:
        del out[text]
    return out


def candidate_scores(candidates: list[Candidate], src_texts: list[str], tgt_texts: list[str],
                     src_ids: dict[str, str], tgt_ids: dict[str, str]
                     ) -> dict[tuple[str, str], float]:
    """Mined pairs of sentences as pairs of ids, each with its best score (XTREME's
    read_candidate2score); pairs with a repeated sentence are left out."""
    out: dict[tuple[str, str], float] = {}
    for score, i, j in candidates:
        src, tgt = src_texts[i].strip(), tgt_texts[j].strip()
        if src in src_ids and tgt in tgt_ids:
            pair = (src_ids[src], tgt_ids[tgt])
            out[pair] = max(score, out.get(pair, score))
    return out


def best_threshold(scores: dict[tuple[str, str], float], gold: set[tuple[str, str]]) -> float:
    """The threshold of the best F1 against `gold` (XTREME's bucc_optimize): midway
    between the best-F1 candidate's score and the next one's (its own, when last)."""
    items = sorted(scores.items(), key=lambda kv: -kv[1])
    best_f1, threshold, correct = 0.0, 0.0, 0
    for n, (pair, score) in enumerate(items, start=1):
        correct += pair in gold
        if correct:
            precision, recall = correct / n, correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                following = items[n][1] if n < len(items) else score
                threshold = (score + following) / 2
    return threshold


def extract(scores: dict[tuple[str, str], float], threshold: float) -> list[tuple[str, str]]:
    """The pairs whose score reaches `threshold` (XTREME's bucc_extract)."""
    return [pair for pair, score in scores.items() if score >= threshold]


def nearest(index: torch.Tensor, queries: torch.Tensor) -> list[int]:
    """For each query, the row of `index` with the highest cosine similarity."""
    return knn(queries, index, 1)[1][:, 0].tolist()
