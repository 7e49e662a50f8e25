"""Steps 2 and 4: a target is evaluated on its dev and test splits in every evaluated
language, in eval mode, into the XTREME layout; what evaluators report comes back."""

from __future__ import annotations

import json

from sweeper.trial.stages import evaluate


def test_dev_and_test_predictions_for_every_language(make_context, catalog):
    ctx = make_context(targets=["xnli"], intermediate=[])
    xnli = catalog.task("xnli")
    ctx.add_head(ctx.head_name(xnli), xnli)
    ctx.model.train()
    assert evaluate.run(ctx, xnli) == {}  # classification reports nothing beside its files
    assert not ctx.model.training
    root = ctx.out_dir / "xtreme"
    for kind in ("predictions", "labels"):
        assert sorted(p.name for p in (root / kind / "xnli").iterdir()) == [
            "dev-en.tsv", "dev-sw.tsv", "test-en.tsv", "test-sw.tsv"]
    predicted = (root / "predictions" / "xnli" / "test-sw.tsv").read_text().splitlines()
    assert len(predicted) == 8  # max_eval_examples
    assert set(predicted) <= set(ctx.label_names(xnli))


def test_retrieval_reports_its_dev_chosen_threshold(make_context, catalog):
    ctx = make_context(targets=["bucc2018"], intermediate=[], eval_languages=["de"])
    info = evaluate.run(ctx, catalog.task("bucc2018"))
    assert set(info) == {"dev", "test"} and set(info["dev"]) == {"de"}
    assert info["test"]["de"]["threshold"] == info["dev"]["de"]["threshold"]
    files = ctx.out_dir / "xtreme" / "predictions" / "bucc2018"
    assert sorted(p.name for p in files.iterdir()) == ["dev-de.tsv", "test-de.tsv"]
    json.dumps(info)  # plain data: it goes into metrics.json
