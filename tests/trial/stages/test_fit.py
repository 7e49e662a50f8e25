"""From settings to the training loop: one phase's loop settings, seeded by the trial
seed and the stage alone; a phase trains and logs its curve under its stage."""

from __future__ import annotations

from sweeper.digest import stage_seed
from sweeper.model.train import TrainTask
from sweeper.trial.stages.fit import fit, micro_batch, train_args


def _tasks(ctx, catalog, name: str = "sst2") -> list[TrainTask]:
    spec = catalog.task(name)
    ctx.add_head(name, spec)
    return [TrainTask(name, spec.kind, ctx.features(spec, "en", "train"), name)]


def test_a_phase_s_loop_settings(make_context, catalog):
    ctx = make_context(targets=["xnli"], intermediate=["sst2"], lr=1e-3, seed=3,
                       warmup_ratio=0.2)
    tasks = _tasks(ctx, catalog)
    args = train_args(ctx, tasks, epochs=2.0, stage="intermediate", batch_size=8,
                      max_passes=3.0)
    assert (args.epochs, args.max_steps, args.batch_size, args.max_passes) == (2.0, None, 8, 3.0)
    assert (args.lr, args.warmup_ratio, args.precision) == (1e-3, 0.2, "fp32")
    assert args.seed == stage_seed(3, "batches", "intermediate")
    assert train_args(ctx, tasks, epochs=1.0, stage="xnli", batch_size=8).seed == \
        stage_seed(3, "batches", "xnli") != args.seed
    assert args.sampling == "proportional" and args.temperature == 1.0  # one task
    assert micro_batch(ctx, tasks, 8) is None  # auto on a CPU: the whole batch
    assert micro_batch(make_context(targets=["xnli"], intermediate=["sst2"], micro_batch="4"),
                       tasks, 8) == 4


def test_a_phase_trains_and_logs_under_its_stage(make_context, catalog):
    ctx = make_context(targets=["xnli"], intermediate=["sst2"])
    tasks = _tasks(ctx, catalog)
    before = {k: v.clone() for k, v in ctx.model.encoder.state_dict().items()}
    result = fit(ctx, tasks, epochs=None, steps=1, stage="intermediate", batch_size=8)
    assert result.steps == 1 and result.drawn == {"sst2": 8}
    after = ctx.model.encoder.state_dict()
    assert any(not before[k].equal(after[k]) for k in before)
    assert ctx.on_log.points and {s for s, _, _ in ctx.on_log.points} == {"intermediate"}
