"""Retrieval without training: BUCC bitext mining and Tatoeba nearest neighbours, as
XTREME runs them (third_party/utils_retrieve.py).

Sentences are embedded by mean-pooling the hidden states of one encoder layer (layer
14 of 24 for XLM-R Large, as XTREME does; scaled to other depths) and compared by
cosine similarity.

- BUCC (sweeper.tasktypes._mining): XTREME's mine_bitext over every distinct sentence of
  the split (a whole BUCC release holds many without a translation; gold-pair-only data
  is mined, but marked not comparable with XTREME): k = 4 nearest neighbours each way,
  ratio margins among them, best candidates first, each sentence once; sentences that
  occur more than once are dropped when mapped to ids (read_sent2id). The score
  threshold is chosen on the DEV split's gold pairs and applied unchanged to the test split.
- Tatoeba: the non-English sentences are indexed and the ENGLISH sentences query them,
  every row counted (XTREME does not de-duplicate).
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
    TrialView,
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


def embed(ctx: EvalContext, ids: list[list[int]], layer: int, batch_size: int = EMBED_BATCH,
          pooling: str = "mean"):
    """L2-normalised pooled hidden states of `layer` for each sequence."""
    import numpy as np
    import torch

    from sweeper.model.batching import length_grouped, pad, sdpa_mask
    from sweeper.model.device import autocast

    pad_id = ctx.tokenizer.pad_token_id
    encoder = ctx.model.encoder
    sdpa = getattr(encoder.config, "_attn_implementation", "sdpa") == "sdpa"
    out = torch.empty(len(ids), ctx.model.hidden_size, device=ctx.device)
    with torch.inference_mode(), layers_up_to(encoder, layer) as truncated:
        for idx in length_grouped([len(x) for x in ids], batch_size, None):
            input_ids = pad([ids[i] for i in idx], pad_id)
            lengths = np.array([len(ids[i]) for i in idx])
            attention = sdpa_mask(lengths, input_ids.shape[1]) if sdpa else \
                (input_ids != pad_id).long()
            input_ids = input_ids.to(ctx.device, non_blocking=True)
            mask = input_ids != pad_id
            if attention is not None:
                attention = attention.to(ctx.device, non_blocking=True)
            with autocast(ctx.device, ctx.precision):
                result = encoder(input_ids=input_ids, attention_mask=attention,
                                 output_hidden_states=not truncated)
            states = result.last_hidden_state if truncated else result.hidden_states[layer]
            if pooling == "cls":
                pooled = states[:, 0]
            else:  # mean over every token, <s> and </s> included (XTREME's default)
                m = mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * m).sum(1) / m.sum(1).clamp(min=1)
            out[torch.tensor(idx, device=ctx.device)] = pooled.float()
    return torch.nn.functional.normalize(out, dim=-1)


def bitext(rows: Any, lang: str) -> tuple[dict[str, list], dict[str, list], set, bool]:
    """Each side's sentences of a split (its rows, ids and texts) and the gold pairs of
    ids. A whole release (rows with `source_id`) gives every sentence, partnered or not;
    gold-pair data gives its pairs as both sides, numbered."""
    n = len(rows)
    src_text, tgt_text = rows["source"], rows["target"]
    if "source_id" not in rows.column_names:
        sid = [f"{lang}-{i:06d}" for i in range(n)]
        tid = [f"en-{i:06d}" for i in range(n)]
        whole = False
    else:
        sid = [_pair_id(lang, x) if x else "" for x in rows["source_id"]]
        tid = [_pair_id("en", x) if x else "" for x in rows["target_id"]]
        whole = True
    src = {"rows": [r for r in range(n) if sid[r]]}
    tgt = {"rows": [r for r in range(n) if tid[r]]}
    for side, ids, texts in ((src, sid, src_text), (tgt, tid, tgt_text)):
        side["ids"] = [ids[r] for r in side["rows"]]
        side["texts"] = [texts[r] for r in side["rows"]]
    gold = {(sid[r], tid[r]) for r in range(n) if sid[r] and tid[r]}
    return src, tgt, gold, whole


def distinct(texts: list[str]) -> list[int]:
    """The position of each distinct (stripped) sentence's first occurrence: XTREME mines
    over distinct sentences (text_load_unify)."""
    first: dict[str, int] = {}
    for pos, text in enumerate(texts):
        first.setdefault(text.strip(), pos)
    return list(first.values())


def _pair_id(lang: str, sid: str) -> str:
    """`de-000123` as the gold files write it, whether `sid` holds the prefix or not."""
    return sid if sid.startswith(f"{lang}-") else f"{lang}-{sid}"


class Retrieval(TaskType):
    name = "retrieval"
    columns = ("source", "target")
    metrics = ("bucc_f1", "accuracy")  # BUCC mining F1; Tatoeba accuracy
    family = "sentence"
    labelled = False
    trains = False
    train_columns = ()
    text_ids = "src_ids"  # the non-English side
    scores_translations = True

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

    def protocol(self, trial: TrialView) -> str:
        """How the sentences are embedded and matched, which the scores depend on."""
        return (f"{trial.retrieval_pooling} pooling over layer {trial.retrieval_layer} of "
                f"{trial.facts.num_layers}, cosine; BUCC mined as XTREME's mine_bitext (k = 4, "
                "ratio margin over the candidates, read_sent2id); Tatoeba as "
                "similarity_search (no de-duplication)")

    def caveat(self, reports: list[dict]) -> str:
        """BUCC mined over its gold pairs only (the hub's configs) is not XTREME's task."""
        return GOLD_ONLY if any(r.get("mining") == "gold_pairs_only" for r in reports) else ""

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        """Embed the split, retrieve, and write predictions and gold labels."""
        from sweeper.tasktypes import _mining as mining

        ds = ctx.features(job.data, job.lang, job.split)
        ds = ds.select(range(ctx.example_cap(len(ds))))
        if job.target.metric == "bucc_f1":
            return self._bucc(ctx, job, ds)
        layer, pooling = ctx.retrieval_layer, ctx.retrieval_pooling
        src, tgt = embed(ctx, ds["src_ids"][:], layer, pooling=pooling), \
            embed(ctx, ds["tgt_ids"][:], layer, pooling=pooling)
        pred_path, gold_path = ctx.export_paths(job)
        # Tatoeba as XTREME: the non-English side is indexed, each English sentence
        # queries it; every row counts (no de-duplication)
        write_lines(pred_path, (str(j) for j in mining.nearest(src, tgt)))
        write_lines(gold_path, (str(i) for i in range(len(ds))))
        return {"sentences": len(ds)}

    def _bucc(self, ctx: EvalContext, job: Job, ds: Any) -> dict:
        """Mine as XTREME does, choose the threshold on dev (applied unchanged to test),
        write the pairs of ids."""
        from sweeper.tasktypes import _mining as mining

        rows = ctx.examples(job.data, job.lang, job.split).select(range(len(ds)))
        src, tgt, gold, whole = bitext(rows, job.lang)
        if not whole:
            print(f"warning: {job.target.name} {job.lang}/{job.split}: {GOLD_ONLY}",
                  file=sys.stderr)
        vectors = {}
        for name, side, field in (("src", src, "src_ids"), ("tgt", tgt, "tgt_ids")):
            side["distinct"] = distinct(side["texts"])
            ids = ds[field]
            vectors[name] = embed(ctx, [ids[side["rows"][p]] for p in side["distinct"]],
                                  ctx.retrieval_layer, pooling=ctx.retrieval_pooling)
        candidates = mining.mine(vectors["src"], vectors["tgt"])
        scores = mining.candidate_scores(
            candidates, [src["texts"][p] for p in src["distinct"]],
            [tgt["texts"][p] for p in tgt["distinct"]],
            mining.sent2id(src["texts"], src["ids"]), mining.sent2id(tgt["texts"], tgt["ids"]))
        memo = (job.target.name, job.lang)
        if job.kind == "dev":
            ctx.memo[memo] = mining.best_threshold(scores, gold)
        elif memo not in ctx.memo:
            raise SweeperError(f"{job.target.name} {job.lang}: no threshold chosen on the dev "
                               "split (BUCC's test threshold comes from dev)")
        pred_path, gold_path = ctx.export_paths(job)
        write_lines(pred_path, (f"{a}\t{b}" for a, b in
                                sorted(mining.extract(scores, ctx.memo[memo]))))
        write_lines(gold_path, (f"{a}\t{b}" for a, b in sorted(gold)))
        return {"threshold": ctx.memo[memo],
                "mining": "all_sentences" if whole else "gold_pairs_only",
                "sentences": [len(src["rows"]), len(tgt["rows"])]}

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
