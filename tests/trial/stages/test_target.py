"""Step 3: a target's stage gets a fresh head and trains on the English data of the task
it trains from."""

from __future__ import annotations

from sweeper.trial.stages import target


def test_a_target_trains_its_stage_s_head_on_english(make_context, catalog):
    ctx = make_context(targets=["xquad"], intermediate=[], max_train_examples=8)
    xquad = catalog.task("xquad")
    stage = ctx.head_name(xquad)
    source, lang = catalog.train_task(xquad)
    assert (source.name, lang) == ("squad", "en") and stage.startswith("squad@")
    result = target.run(ctx, xquad, stage)
    assert stage in ctx.model.heads
    assert result.steps == 1 and result.distinct == result.drawn == {stage: 8}  # one batch
    assert {s for s, _, _ in ctx.on_log.points} == {"squad"}  # the stage, its key aside
