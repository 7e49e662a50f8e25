"""A stage gives the same numbers whether it was trained, served from the stage cache
or resumed after an interruption, and two runs of one trial on CPU are identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeper.cache import StageCache
from sweeper.model.heads import MultiTaskModel
from sweeper.trial import run as run_module
from sweeper.trial.run import NoHooks, run_trial
from sweeper.trial.settings import TrialSettings

pytestmark = pytest.mark.slow

SETTINGS = TrialSettings.build(targets=["xnli", "panx", "tatoeba"], intermediate=["sst2"],
                               model="tiny", eval_languages=["en", "sw"],
                               max_train_examples=500, max_eval_examples=60,
                               intermediate_epochs=1, target_epochs=3)


class Interrupted(Exception):
    pass


class StopAfterIntermediate(NoHooks):
    def on_stage(self, stage, result, out_dir):
        if stage == "intermediate":
            raise Interrupted


def _numbers(result: dict) -> dict:
    return {split: result[split]["xtreme"]["detailed_scores"] for split in ("dev", "test")}


class WeightReads:
    """Records every read of encoder weights a trial makes (the functions still run)."""

    def __init__(self, monkeypatch):
        self.reads: list[str] = []
        original_load = run_module.load_encoder
        original_weights = MultiTaskModel.load_encoder_weights

        def load(model, tokenizer, seed, attn="sdpa", saved=None):
            self.reads.append(f"encoder:{saved or model}")
            return original_load(model, tokenizer, seed, attn, saved)

        def weights(model_self, directory):
            self.reads.append(f"weights:{directory}")
            return original_weights(model_self, directory)

        monkeypatch.setattr(run_module, "load_encoder", load)
        monkeypatch.setattr(MultiTaskModel, "load_encoder_weights", weights)

    def take(self) -> list[str]:
        reads, self.reads = self.reads, []
        return reads


def test_trained_cached_resumed_and_repeated_trials_agree(tmp_path: Path, monkeypatch):
    cache = StageCache(tmp_path / "stage-cache")
    reads = WeightReads(monkeypatch)
    trained = run_trial(SETTINGS, tmp_path / "trained", stage_cache=cache)
    assert trained["training"]["intermediate"]["cached"] is False
    assert reads.take() == ["encoder:tiny"]
    cached = run_trial(SETTINGS, tmp_path / "cached", stage_cache=cache)
    assert cached["training"]["intermediate"]["cached"] is True
    entry = cache.path(trained["training"]["intermediate"]["key"])
    assert reads.take() == [f"encoder:{entry}"]  # the cached encoder only, read once
    assert _numbers(cached) == _numbers(trained)

    with pytest.raises(Interrupted):  # stops right after the intermediate stage
        run_trial(SETTINGS, tmp_path / "resumed", hooks=StopAfterIntermediate())
    reads.take()
    resumed = run_trial(SETTINGS, tmp_path / "resumed")
    assert reads.take() == [f"encoder:{tmp_path / 'resumed' / 'stages' / 'intermediate'}"]
    assert (tmp_path / "resumed" / "stages" / "intermediate.json").exists()
    assert _numbers(resumed) == _numbers(trained)

    again = run_trial(SETTINGS, tmp_path / "again")  # no cache, uninterrupted
    assert _numbers(again) == _numbers(trained)
    # numbers that can tell runs apart: well above chance (33%) and a non-zero F1
    assert trained["test"]["summary"]["xnli"]["avg_metric"] > 38
    assert trained["test"]["summary"]["panx"]["avg_metric"] > 10


def test_target_numbers_do_not_depend_on_the_other_targets(tmp_path: Path):
    both = run_trial(SETTINGS, tmp_path / "both")
    alone = run_trial(SETTINGS.replace(targets=["panx"]), tmp_path / "alone")
    assert alone["test"]["xtreme"]["detailed_scores"]["panx"] == \
        both["test"]["xtreme"]["detailed_scores"]["panx"]


def test_keys_known_before_a_trial_are_the_trial_s_own(tmp_path: Path, catalog):
    from sweeper.trial.keys import TrialKeys
    from sweeper.trial.run import derive_keys

    settings = SETTINGS.replace(targets=["tatoeba"], max_train_examples=50)
    result = run_trial(settings, tmp_path / "t")
    assert derive_keys(settings, catalog) == TrialKeys(**result["keys"])


def test_a_step_budget_within_the_pass_limit(tmp_path: Path):
    """12 steps of 32 examples: three tasks of 64 examples fill them in 2 passes; one task
    alone would need 6, so under the limit of 3 it trains 6 steps, and says so."""
    budget = SETTINGS.replace(targets=["tatoeba"], intermediate_steps=12, examples_cap=64)
    one = run_trial(budget.replace(intermediate=["sst2"]), tmp_path / "one")
    three = run_trial(budget.replace(intermediate=["sst2", "qqp", "mnli"]), tmp_path / "three")
    data_one, data_three = (r["training"]["intermediate"]["data"] for r in (one, three))
    assert data_three["steps"] == 12 and data_three["examples_seen"] == 384
    assert data_three["distinct_examples"] == 192 and data_three["max_passes"] <= 3
    assert data_one["steps"] == 6 and data_one["planned_steps"] == 12
    assert data_one["max_passes"] == 3 and data_one["examples_seen"] == 192
    unbounded = run_trial(budget.replace(intermediate=["sst2"], max_passes=None),
                          tmp_path / "unbounded")
    assert unbounded["training"]["intermediate"]["data"]["steps"] == 12


def test_a_damaged_cache_entry_is_rebuilt_with_the_same_numbers(tmp_path: Path, capsys):
    """A flipped byte, a truncated weights file and a deleted encoder folder in the
    cached intermediate stage: each is caught before use, quarantined and trained again,
    and the trial's numbers are those of a fresh training."""
    import shutil

    cache = StageCache(tmp_path / "stage-cache")
    settings = SETTINGS.replace(targets=["tatoeba"])  # scored straight from the encoder
    fresh = run_trial(settings, tmp_path / "fresh", stage_cache=cache)
    entry = cache.path(fresh["training"]["intermediate"]["key"])

    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))

    weights = Path("encoder") / "model.safetensors"
    damages = [lambda: flip(entry / weights),
               lambda: (entry / weights).write_bytes((entry / weights).read_bytes()[:1000]),
               lambda: shutil.rmtree(entry / weights.parts[0])]
    for i, damage in enumerate(damages):
        damage()
        capsys.readouterr()
        again = run_trial(settings, tmp_path / f"again{i}", stage_cache=cache)
        assert again["training"]["intermediate"]["cached"] is False  # trained again
        assert "failed its check" in capsys.readouterr().err
        assert _numbers(again) == _numbers(fresh)
