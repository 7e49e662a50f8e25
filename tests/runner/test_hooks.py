"""A trial's hooks: its training curve reaches its run in batches; every stage's report
and checkpoint are sent to Tune, the last one held until the run is closed (in process,
on the in-memory store)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import ray
from ray import tune

from sweeper import tracking
from sweeper.runner.hooks import TuneHooks
from sweeper.tracking.memory import MemoryStore


class _Runtime:
    """Ray's runtime context as a worker sees it: the node a report names."""

    def get_node_id(self) -> str:
        return "node-1"


@pytest.fixture()
def reports(monkeypatch) -> list[tuple[dict, list[str], Path]]:
    """What the hooks send Tune: (metrics, files of the checkpoint read as it is sent, its
    folder). Tune's session exists only inside a running Tuner; Ray is not started here."""
    sent: list[tuple[dict, list[str], Path]] = []

    def report(metrics: dict, checkpoint=None) -> None:
        root = Path(checkpoint.path)
        sent.append((dict(metrics), sorted(str(p.relative_to(root)) for p in root.rglob("*")
                                           if p.is_file()), root))

    monkeypatch.setattr(tune, "report", report)
    monkeypatch.setattr(ray, "get_runtime_context", _Runtime)
    return sent


def _trial_folder(out: Path) -> None:
    (out / "stages" / "intermediate").mkdir(parents=True)
    (out / "stages" / "intermediate" / "weights.bin").write_bytes(b"w")
    (out / "stages" / "intermediate.json").write_text(json.dumps({"key": "inter-abc"}))
    (out / "trial_config.yaml").write_text("seed: 0\n")
    (out / "scratch.txt").write_text("not part of a checkpoint")


def _result(targets: dict[str, float]) -> dict:
    return {"protocol": {t: "zero_shot" for t in targets},
            "dev": {"zero_shot": {},
                    "summary": {t: {"avg_metric": v + 1} for t, v in targets.items()}},
            "test": {"zero_shot": {t: {"sw": {"accuracy": v}} for t, v in targets.items()},
                     "summary": {t: {"avg_metric": v, "tiers": {}} for t, v in targets.items()}}}


def test_each_stage_is_reported_with_its_checkpoint_and_the_last_is_held(tmp_path, reports):
    tracker = tracking.Tracker(MemoryStore(), "sweep")
    run_id = tracker.start("t", "sweep:t1", {})
    out = tmp_path / "trial"
    _trial_folder(out)
    hooks = TuneHooks(tracker, run_id, out=out, started=time.time() - 5, device="cpu",
                      score=lambda r: r["dev"]["summary"]["xnli"]["avg_metric"],
                      last_stage="tatoeba")
    hooks.on_stage("intermediate", {"cached": True}, out / "stages")
    (first, files, _), = reports
    assert math.isnan(first["objective"]) and first["targets_done"] == 0
    assert first["intermediate_cached"] == 1.0 and first["intermediate_key"] == "inter-abc"
    assert first["node"] == "node-1" and first["device"] == "cpu"
    assert first["trial_seconds"] >= 5
    assert files == ["stages/intermediate.json", "stages/intermediate/weights.bin",
                     "trial_config.yaml"]  # what a retry needs, not the scratch
    (out / "metrics.json").write_text("{}")
    hooks.on_stage("xnli", _result({"xnli": 40.0}), out / "stages")
    second = reports[1][0]
    assert second["objective"] == 41.0 and second["dev.xnli.avg"] == 41.0
    assert second["targets_done"] == 1 and "metrics.json" in reports[1][1]
    assert tracker.run(run_id).metrics["test.xnli.sw.accuracy"] == 40.0
    hooks.on_stage("tatoeba", _result({"xnli": 40.0, "tatoeba": 20.0}), out / "stages")
    assert len(reports) == 2  # the last report waits for the run to be closed
    hooks.annotate(stage_seconds=3.0)
    hooks.flush()
    last = reports[2][0]
    assert last["targets_done"] == 2 and last["stage_seconds"] == 3.0
    hooks.flush()
    hooks.annotate(stage_seconds=4.0)
    assert len(reports) == 3 and hooks.pending is None  # nothing held: nothing sent
    assert not any(folder.exists() for _, _, folder in reports)  # sent, then removed


def test_the_training_curve_is_sent_in_batches(tmp_path, reports):
    tracker = tracking.Tracker(MemoryStore(), "sweep")
    run_id = tracker.start("t", "sweep:t1", {})
    _trial_folder(tmp_path)
    hooks = TuneHooks(tracker, run_id, out=tmp_path, score=lambda r: 0.0,
                      started=time.time(), last_stage="xnli")
    hooks.on_log("intermediate", 1, {"loss": 2.0, "step": 1})
    hooks.on_log("intermediate", 2, {"loss": 1.5, "step": 2})
    assert tracker.run(run_id).metrics == {}  # held: less than CURVE_EVERY_S since the last
    hooks.curve_sent -= 3600  # a long stage: its curve shows while it runs
    hooks.on_log("intermediate", 3, {"loss": 1.0, "step": 3})
    assert tracker.run(run_id).metrics == {"train.intermediate.loss": 1.0}
    assert hooks.curve == []
    hooks.on_log("intermediate", 4, {"loss": 0.5})
    hooks.on_stage("intermediate", {"cached": False}, tmp_path / "stages")  # a stage's end
    assert tracker.run(run_id).metrics["train.intermediate.loss"] == 0.5
    assert reports[0][0]["intermediate_cached"] == 0.0
