"""Retrieval without training: BUCC bitext mining and Tatoeba nearest neighbours, as
XTREME runs them (third_party/utils_retrieve.py).

Sentences are embedded by mean-pooling the hidden states of one encoder layer (layer
14 of 24 for XLM-R Large, as XTREME does; scaled to other depths) and compared by
cosine similarity.

- BUCC: ratio-margin scores (Artetxe & Schwenk, 2019) with k=4 nearest neighbours,
  mined in both directions over every distinct sentence of the split (a whole BUCC
  release holds many without a translation; gold-pair-only data is mined, but marked
  not comparable with XTREME), each sentence used once, best scores first; a mined pair
  of sentences stands for every pair of ids holding them. The score threshold is
  chosen on the DEV split's gold pairs and applied unchanged to the test split.
- Tatoeba: duplicate sentences are dropped (a repeated sentence has no single right
  answer), the non-English sentences are indexed and the ENGLISH sentences query them.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

from sweeper.errors import DataError, SweeperError
from sweeper.scoring import metrics
from sweeper.tasktypes.base import (
    EvalContext,
    Job,
    TaskEntry,
    TaskType,
    column,
    read_lines,
    same_length,
    write_lines,
)

RELEASE_IDS = ("source_id", "target_id")  # rows of a whole release carry both
GOLD_ONLY = ("gold pairs only (the hub's bucc18 configs): mining over them is NOT comparable "
             "with XTREME; import the BUCC 2018 release with `sweeper data import bucc2018`")
EMBED_BATCH = 64


@contextlib.contextmanager
def layers_up_to(encoder: Any, layer: int) -> Iterator[bool]:
    """Run only the first `layer` transformer layers while inside (True), so the output is
    that layer's hidden states without computing the layers above it. Encoders without a
    `encoder.layer` stack (False) run whole and the caller picks the layer."""
    import torch

    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(stack, torch.nn.ModuleList):
        yield False
        return
    encoder.encoder.layer = torch.nn.ModuleList(list(stack)[:layer])
    try:
        yield True
    finally:
        encoder.encoder.layer = stack


def embed(ctx: EvalContext, ids: list[list[int]], layer: int, batch_size: int = EMBED_BATCH):
    """L2-normalised mean-pooled hidden states of `layer` for each sequence."""
    import torch

    from sweeper.model.batching import length_grouped, pad
    from sweeper.model.device import autocast

    pad_id = ctx.tokenizer.pad_token_id
    encoder = ctx.model.encoder
    out = torch.empty(len(ids), ctx.model.hidden_size, device=ctx.device)
    with torch.inference_mode(), layers_up_to(encoder, layer) as truncated:
        for idx in length_grouped([len(x) for x in ids], batch_size, None):
            input_ids = pad([ids[i] for i in idx], pad_id).to(ctx.device)
            mask = input_ids != pad_id
            with autocast(ctx.device, ctx.precision):
                result = encoder(input_ids=input_ids, attention_mask=mask.long(),
                                 output_hidden_states=not truncated)
            states = result.last_hidden_state if truncated else result.hidden_states[layer]
            m = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * m).sum(1) / m.sum(1).clamp(min=1)
            out[torch.tensor(idx, device=ctx.device)] = pooled.float()
    return torch.nn.functional.normalize(out, dim=-1)


def bitext(ds: Any) -> tuple[list[int], list[int], list[str], list[str], set[tuple[int, int]],
                             bool]:
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


class Retrieval(TaskType):
    name = "retrieval"
    columns = ("source", "target")
    metrics = ("bucc_f1", "accuracy")  # BUCC mining F1; Tatoeba accuracy
    labelled = False
    trains = False
    train_columns = ()

    def normalize(self, task: TaskEntry, batch: dict[str, list], tag_names: list[str]
                  ) -> dict[str, list]:
        out = {canon: column(batch, path, task) for canon, path in task.columns.items()}
        if all(col in batch for col in RELEASE_IDS):  # a whole release: unpartnered too
            out.update({col: batch[col] for col in RELEASE_IDS})
        return out

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        kw = dict(truncation=True, max_length=max_length)
        ids = {col: batch[col] for col in RELEASE_IDS if col in batch}
        return {"src_ids": tokenizer(batch["source"], **kw)["input_ids"],
                "tgt_ids": tokenizer(batch["target"], **kw)["input_ids"], **ids}

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        """Embed the split, retrieve, and write predictions and gold labels."""
        from sweeper.tasktypes import _mining as mining

        ds = ctx.features(job.data, job.lang, job.split)
        ds = ds.select(range(ctx.example_cap(len(ds))))
        if job.target.metric == "bucc_f1":
            return self._bucc(ctx, job, ds)
        src_ids, tgt_ids = ds["src_ids"], ds["tgt_ids"]
        keep = mining.first_occurrences(src_ids, tgt_ids)
        src_ids, tgt_ids = [src_ids[i] for i in keep], [tgt_ids[i] for i in keep]
        src, tgt = embed(ctx, src_ids, ctx.retrieval_layer), embed(ctx, tgt_ids,
                                                                  ctx.retrieval_layer)
        pred_path, gold_path = ctx.export_paths(job)
        # Tatoeba: English queries, non-English index
        write_lines(pred_path, (str(j) for j in mining.nearest(src, tgt)))
        write_lines(gold_path, (str(i) for i in range(len(src_ids))))
        return {"sentences": len(src_ids)}

    def _bucc(self, ctx: EvalContext, job: Job, ds: Any) -> dict:
        """Mine, choose the threshold on dev (applied unchanged to test), write the pairs."""
        from sweeper.tasktypes import _mining as mining

        src_rows, tgt_rows, src_names, tgt_names, gold, whole = bitext(ds)
        lang = job.lang
        if not whole:
            print(f"warning: {job.target.name} {lang}/{job.split}: {GOLD_ONLY}", file=sys.stderr)
        src_ids, tgt_ids = ds["src_ids"], ds["tgt_ids"]
        src_unique, src_groups = mining.unique([src_ids[r] for r in src_rows])
        tgt_unique, tgt_groups = mining.unique([tgt_ids[r] for r in tgt_rows])
        layer = ctx.retrieval_layer
        src, tgt = embed(ctx, src_unique, layer), embed(ctx, tgt_unique, layer)
        candidates = mining.expand(mining.mine(src, tgt), src_groups, tgt_groups)
        memo = (job.target.name, lang)
        if job.kind == "dev":
            ctx.memo[memo] = mining.best_threshold(candidates, gold)
        elif memo not in ctx.memo:
            raise SweeperError(f"{job.target.name} {lang}: no threshold chosen on the dev "
                               "split (BUCC's test threshold comes from dev)")
        threshold = ctx.memo[memo]
        pairs = mining.extract(candidates, threshold)
        pred_path, gold_path = ctx.export_paths(job)
        write_lines(pred_path, (f"{_pair_id(lang, src_names[i])}\t"
                                f"{_pair_id('en', tgt_names[j])}" for i, j in pairs))
        write_lines(gold_path, (f"{_pair_id(lang, src_names[i])}\t"
                                f"{_pair_id('en', tgt_names[j])}" for i, j in sorted(gold)))
        return {"threshold": threshold, "mining": "all_sentences" if whole else "gold_pairs_only",
                "sentences": [len(src_rows), len(tgt_rows)]}

    def score(self, task: TaskEntry, lang: str, predictions: Path, labels: Path
              ) -> dict[str, float]:
        preds, gold = read_lines(predictions), read_lines(labels)
        if task.metric == "bucc_f1":
            if not gold:
                raise DataError(f"{labels} is empty")
            return metrics.bucc_f1(gold, preds)
        same_length(predictions, labels, preds, gold)
        return metrics.accuracy(gold, preds)


TYPE = Retrieval()
