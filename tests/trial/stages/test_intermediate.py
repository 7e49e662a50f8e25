"""Step 1: every intermediate task gets its head and its capped training split, and the
shared encoder trains on all of them at once."""

from __future__ import annotations

from sweeper.trial.stages import intermediate


def test_every_task_trains_through_its_own_head(make_context):
    ctx = make_context(targets=["xnli"], intermediate=["sst2", "mnli"], intermediate_steps=1,
                       examples_cap=10)
    result = intermediate.run(ctx)
    assert set(ctx.model.heads) == {"mnli", "sst2"}
    assert result.steps == 1 and sorted(result.drawn.values()) == [0, 10]  # a batch is of
    # one task, drawn by the sampler: at most batch_size (16) of the task's 10 examples
    assert result.distinct == {"mnli": 10, "sst2": 10}  # examples_cap under max_train_examples
    assert result.history and {s for s, _, _ in ctx.on_log.points} == {"intermediate"}
