"""What the steps of a trial share: training splits capped, evaluation splits whole,
heads of the task's type, the XTREME file layout, evaluation batches over every row."""

from __future__ import annotations

import torch


def test_training_splits_are_capped_and_evaluation_splits_are_not(make_context, catalog):
    ctx = make_context(targets=["xnli"], intermediate=["sst2"])
    sst2, xnli = catalog.task("sst2"), catalog.task("xnli")
    train = ctx.features(sst2, "en", "train")
    assert len(train) == 16  # max_train_examples: the first rows
    whole = ctx.features(xnli, "sw", "test")
    assert len(whole) == len(ctx.examples(xnli, "sw", "test")) > 16
    assert max(whole["length"]) <= ctx.settings.max_length["xnli"]
    assert ctx.example_cap(100) == 8 and ctx.example_cap(5) == 5  # max_eval_examples


def test_heads_labels_and_files_follow_the_task(make_context, catalog):
    ctx = make_context(targets=["xnli", "tatoeba"], intermediate=[])
    xnli = catalog.task("xnli")
    assert ctx.label_names(xnli) == ["entailment", "neutral", "contradiction"]
    assert ctx.num_outputs(xnli) == 3
    stage = ctx.head_name(xnli)
    assert stage == ctx.settings.target_stages["xnli"] and stage.startswith("xnli@")
    ctx.add_head(stage, xnli)
    assert stage in ctx.model.heads
    job = type("Job", (), {"target": xnli, "lang": "sw", "kind": "dev"})()
    predictions, labels = ctx.export_paths(job)
    assert predictions == ctx.out_dir / "xtreme" / "predictions" / "xnli" / "dev-sw.tsv"
    assert labels == ctx.out_dir / "xtreme" / "labels" / "xnli" / "dev-sw.tsv"
    assert ctx.retrieval_layer == ctx.settings.retrieval_layer
    assert ctx.retrieval_pooling == ctx.settings.retrieval_pooling


def test_evaluation_batches_cover_every_row_once(make_context, catalog):
    ctx = make_context(targets=["xnli"], intermediate=[])
    xnli = catalog.task("xnli")
    ctx.add_head(ctx.head_name(xnli), xnli)
    ctx.model.eval()
    data = ctx.features(xnli, "sw", "test").select(range(20))
    seen = []
    with torch.inference_mode():
        for rows, outputs in ctx.head_outputs(xnli.kind, xnli, data, batch_size=8):
            assert outputs.shape == (len(rows), 3) and len(rows) <= 8
            seen += rows
    assert sorted(seen) == list(range(20))
