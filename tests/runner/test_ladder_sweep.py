"""A two-rung fidelity ladder (tiny -> small) on the sample data under the real Ray and
MLflow: interrupted once its second rung has started, resumed, and reported with the
rung agreement (with intervals, or the reason there are none)."""

from __future__ import annotations

import json
import signal
import time

import pytest
from conftest import run_cli
from sweeps import kill_tree, mlflow_runs, start_cli, tiny_space

pytestmark = pytest.mark.slow

LADDER = {"rungs": [{"name": "screen", "model": "tiny", "budget_share": 0.5,
                     "promote": {"top": 0.5}},
                    {"name": "full", "model": "small"}],
          "audit": {"share": 0.1, "min": 3}}


def _finished_at(uri: str, rung: str) -> int:
    """Finished trial runs at `rung`, read once the sweep has made its store."""
    from mlflow.tracking import MlflowClient

    if not __import__("pathlib").Path(uri[len("sqlite:///"):]).exists():
        return 0
    try:
        exp = MlflowClient(uri).get_experiment_by_name("ladder")
        if exp is None:
            return 0
        runs = MlflowClient(uri).search_runs([exp.experiment_id],
                                             "attributes.status = 'FINISHED'")
        return sum(r.data.tags.get("sweeper.rung") == rung for r in runs)
    except Exception:  # the store is being created
        return 0


def test_a_two_rung_ladder_runs_resumes_and_reports_its_rung_agreement(tmp_path):
    space = tiny_space(tmp_path / "ladder.yaml", targets=["xnli"], fidelity=LADDER,
                       intermediate={"sets": [[], ["mnli"], ["sst2"], ["qqp"]]})
    storage = tmp_path / "runs"
    uri = f"sqlite:///{storage / 'mlflow.db'}"
    proc = start_cli("run", str(space), "--storage", str(storage))
    try:
        deadline = time.time() + 400
        while _finished_at(uri, "full") < 1 and time.time() < deadline \
                and proc.poll() is None:
            time.sleep(0.5)  # interrupt once the second rung has begun
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=300)
    finally:
        kill_tree(proc)
    assert proc.returncode == 130 and "sweeper resume ladder" in out, out[-3000:]
    done = run_cli("resume", "ladder", "--storage", str(storage), subprocess_=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    best = done.stdout.split("Best trials")[1].split("MLflow:")[0]
    assert "rung full" in best and "rung screen" not in best  # never mixed with the screen

    parent, children = mlflow_runs(uri, "ladder")
    assert parent.info.status == "FINISHED"
    assert parent.data.params["fidelity_rungs"] == "screen,full"
    keys = [r.data.tags["sweeper.trial_key"] for r in children]
    assert len(keys) == len(set(keys)) and {r.info.status for r in children} == {"FINISHED"}
    by_rung = {}
    for run in children:
        tags, params = run.data.tags, run.data.params
        assert tags["sweeper.rung"] == params["rung"]
        assert params["model"] == {"screen": "tiny", "full": "small"}[params["rung"]]
        by_rung.setdefault(params["rung"], []).append(tags["sweeper.rung_via"])
    # every set screened; top half promoted, the other two audited (all of the passed over)
    assert sorted(by_rung["screen"]) == ["start"] * 4
    assert sorted(by_rung["full"]) == ["audited"] * 2 + ["promoted"] * 2
    # each rung has its own baseline (another encoder: another baseline key), and no stage
    # of one rung was served to the other
    _, baselines = mlflow_runs(uri, "ladder", role="baseline")
    assert sorted(r.data.params["model"] for r in baselines) == ["small", "tiny"]
    inter = {r.data.params["rung"]: set() for r in children}
    for run in children:
        inter[run.data.params["rung"]].add(run.data.tags["sweeper.intermediate_key"])
    assert not (inter["screen"] - {""}) & (inter["full"] - {""})

    rep = run_cli("report", "ladder", "--storage", str(storage))
    assert rep.returncode == 0, rep.stderr[-3000:]
    text = (storage / "ladder" / "report" / "report.md").read_text()
    assert "## The fidelity ladder" in text and "rung agreement" in text
    assert "### Where the rungs disagree" in text
    analysis = json.loads((storage / "ladder" / "report" / "analysis.json").read_text())
    assert analysis["trials"]["finished"] == 8 and analysis["trials"]["stopped"] == 0
    ladder = analysis["ladder"]
    assert ladder["rungs"] == ["screen", "full"]
    pair = ladder["targets"]["xnli"]["agreement"]["pairs"][0]
    assert pair["sets"] == 4 and pair["audited"] == 2
    assert pair["spearman_interval"] is not None or pair["note"]  # an interval, or why not
    assert set(ladder["targets"]["xnli"]["answers"]) == {"screen", "full"}
    # 4 sets screened and all 4 sent up: twice the trials of the full grid (4 sets at full)
    assert ladder["cost"]["trials"] == pytest.approx(2.0)
