"""A sweep's folder in its storage (sweeper.runner.storage)."""

from __future__ import annotations

from sweeper.runner.storage import SweepFolder


def test_an_ended_sweep_keeps_only_each_trials_latest_checkpoint(tmp_path):
    """Found by the chaos run: with Tune keeping one checkpoint, a driver killed between
    Tune's dropping the older checkpoint and saving the state that points past it left a
    trial whose checkpoint was gone; `resume` then failed it for good. Checkpoints are now
    kept while the sweep runs and pruned once it has ended: each trial's latest only."""
    sweep = tmp_path / "runs" / "s"
    for trial, count in (("sweeper_trial_a", 3), ("sweeper_trial_b", 1)):
        for i in range(count):
            (sweep / trial / f"checkpoint_{i:06d}").mkdir(parents=True)
            (sweep / trial / f"checkpoint_{i:06d}" / "stages.json").write_text(str(i))
        (sweep / trial / "result.json").write_text("{}")
    (sweep / "other" / "checkpoint_000000").mkdir(parents=True)  # not a trial: left alone
    assert SweepFolder(str(tmp_path / "runs"), "s").prune_checkpoints() == 2
    left = sorted(p.relative_to(sweep).as_posix() for p in sweep.glob("*/checkpoint_*"))
    assert left == ["other/checkpoint_000000", "sweeper_trial_a/checkpoint_000002",
                    "sweeper_trial_b/checkpoint_000000"]
    assert (sweep / "sweeper_trial_a" / "result.json").exists()
    assert SweepFolder(str(tmp_path / "runs"), "s").prune_checkpoints() == 0
