"""A sweep's folder in its storage: the same small files written and read on a local
path and through a URI (pyarrow's filesystems, as Ray Tune uses them)."""

from __future__ import annotations

import pytest

from sweeper.errors import ConfigError
from sweeper.storage import SweepFolder, is_uri


def test_a_local_folder_is_made_on_the_first_write_and_read_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = SweepFolder("runs", "alpha")  # a relative storage: resolved once, here
    assert folder.location == str(tmp_path / "runs" / "alpha")
    assert not folder.exists("sweeper.json")
    folder.write_text("sweeper.json", '{"name": "alpha"}')
    assert folder.exists("sweeper.json") and folder.read_text("sweeper.json") == \
        '{"name": "alpha"}'
    folder.write_text("sweeper.json", "{}")  # replaced whole
    assert (tmp_path / "runs" / "alpha" / "sweeper.json").read_text() == "{}"
    assert not folder.exists("")  # a folder is no file
    assert not list((tmp_path / "runs" / "alpha").glob("*.tmp*"))


def test_a_uri_storage_reads_and_writes_through_its_filesystem(tmp_path):
    folder = SweepFolder(f"file://{tmp_path}/store/", "beta")
    assert is_uri(folder.storage) and folder.location == f"file://{tmp_path}/store/beta"
    folder.write_text("summary.json", "[1, 2]")
    assert (tmp_path / "store" / "beta" / "summary.json").read_text() == "[1, 2]"
    again = SweepFolder(f"file://{tmp_path}/store", "beta")
    assert again.exists("summary.json") and again.read_text("summary.json") == "[1, 2]"
    assert not again.exists("sweeper.json")


def test_an_unusable_storage_uri_is_one_config_error():
    with pytest.raises(ConfigError, match="storage nosuchscheme://x is not usable"):
        SweepFolder("nosuchscheme://x", "gamma")


def test_a_finished_sweep_keeps_only_each_trials_latest_checkpoint(tmp_path):
    """Found by the chaos run: with Tune keeping one checkpoint, a driver killed between
    Tune's dropping the older checkpoint and saving the state that points past it left a
    trial whose checkpoint was gone; `resume` then failed it for good. Checkpoints are now
    kept while the sweep runs and pruned once it has finished: each trial's latest only."""
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
    assert SweepFolder(str(tmp_path / "runs"), "s").base_root == str(tmp_path / "runs")
