"""Evaluator for extractive QA: the best span over all windows of each question.

n-best start/end search, a maximum answer length, SQuAD v2's null answer where the task
has one, mapped back to the context's characters through the offset mapping.
"""

from __future__ import annotations

import numpy as np

from sweeper.scoring import xtreme
from sweeper.trial.jobs import EvalJob
from sweeper.trial.stages.context import TrialContext
from sweeper.trial.stages.inference import example_cap, export_paths
from sweeper.trial.stages.tagging import window_outputs

N_BEST = 20
MAX_ANSWER_TOKENS = 30


def best_span(windows: list[tuple[np.ndarray, list]], context: str, allow_null: bool) -> str:
    """Highest-scoring answer text over a question's windows ('' for the null answer)."""
    best_text, best_score = "", -np.inf
    null_score = np.inf
    for logits, offsets in windows:
        start, end = logits[:, 0], logits[:, 1]
        null_score = min(null_score, float(start[0] + end[0]))
        valid = np.array([o[0] >= 0 for o in offsets] + [False] * (len(start) - len(offsets)))
        cand_s = [i for i in np.argsort(start)[::-1][:N_BEST] if valid[i]]
        cand_e = [i for i in np.argsort(end)[::-1][:N_BEST] if valid[i]]
        for s in cand_s:
            for e in cand_e:
                if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                score = float(start[s] + end[e])
                if score > best_score:
                    best_score, best_text = score, context[offsets[s][0]:offsets[e][1]]
    if allow_null and null_score > best_score:
        return ""
    return best_text


def evaluate(ctx: TrialContext, job: EvalJob) -> dict:
    """Answer the first questions of a split (all windows of each) and write both files."""
    target = job.target
    examples = ctx.examples(job.data, job.lang, job.split)
    examples = examples.select(range(example_cap(ctx, len(examples))))
    keep = set(examples["id"])
    ds = ctx.features(job.data, job.lang, job.split)
    ds = ds.select([i for i, ex_id in enumerate(ds["example_id"]) if ex_id in keep])
    outputs = window_outputs(ctx, target, ds)
    by_id: dict[str, list] = {}
    for ex_id, offsets, out in zip(ds["example_id"], ds["offsets"], outputs):
        by_id.setdefault(ex_id, []).append((out, offsets))
    preds, paragraphs = {}, []
    for row in examples:
        preds[row["id"]] = best_span(by_id.get(row["id"], []), row["context"], target.null_answers)
        answers = [{"text": t, "answer_start": s}
                   for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
        paragraphs.append({"context": row["context"], "qas": [
            {"id": row["id"], "question": row["question"], "answers": answers}]})
    pred_path, gold_path = export_paths(ctx, job)
    xtreme.write_json(pred_path, preds)
    xtreme.write_json(gold_path, {"version": "1.1", "data": [
        {"title": f"{job.data.name}-{job.lang}-{job.split}", "paragraphs": paragraphs}]})
    return {}
