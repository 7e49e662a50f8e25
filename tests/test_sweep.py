"""Sweeps with the real Ray and MLflow, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, run_cli
from sweeps import (
    FAST,
    ListenWatch,
    Postgres,
    kill_tree,
    mlflow_runs,
    serve_mlflow_with_auth,
    serve_s3,
    start_cli,
    tiny_space,
)

pytestmark = pytest.mark.slow


def table_of(storage: Path) -> str:
    import pandas as pd

    table = pd.read_parquet(storage / "quickstart" / "report" / "results.parquet")
    return table.groupby("tasks")[["examples_seen", "distinct_examples"]].first().to_string()


def _summary(storage: Path, name: str) -> dict:
    return json.loads((storage / name / "summary.json").read_text())


def test_quickstart_sweep_end_to_end(tmp_path, catalog):
    """The README's main job (chains over 4 tasks, fixed total data) and its report."""
    storage = tmp_path / "runs"
    # the total held fixed within FAST's per-task cap of 120 training examples
    proc = start_cli("run", "search_spaces/quickstart.yaml", "--storage", str(storage), *FAST,
                     "--set", "intermediate.budget.examples_total=120")
    watch = ListenWatch(proc.pid)
    watch.start()
    out, _ = proc.communicate(timeout=600)
    watch.stop.set()
    assert proc.returncode == 0, out[-4000:]
    assert watch.seen and not watch.wide(), watch.wide()  # Ray listened, on loopback only
    assert "Intermediate trainings:" in out and "Best trials" in out
    summary = _summary(storage, "quickstart")
    assert summary["finished"] == summary["trials"] == 15 and summary["errored"] == 0
    # 5 chains x 3 positions hold 12 distinct sets: each trained once, 3 from the cache
    assert summary["intermediate_trained"] == summary["intermediate_configs"] == 12
    assert summary["intermediate_from_cache"] == 3
    entries = [p.parent.name for p in (storage / "quickstart" / "stage_cache").glob("*/COMPLETE")]
    assert len([e for e in entries if not e.startswith("baseline-")]) == 12
    assert len([e for e in entries if e.startswith("baseline-")]) == 1
    # bookkeeping: each trial keeps one checkpoint (every stage's outputs once, no encoder:
    # encoders live in the stage cache), the trials ran on the 2 workers, each reporting
    # its device and how much of its time its stages took
    trials = sorted((storage / "quickstart").glob("sweeper_trial_*"))
    assert [len(list(t.glob("checkpoint_*"))) for t in trials] == [1] * 15
    assert not list((storage / "quickstart").glob("sweeper_trial_*/checkpoint_*/**/*.safetensors"))
    last = [json.loads((t / "result.json").read_text().splitlines()[-1]) for t in trials]
    assert len({r["pid"] for r in last}) == 2  # workers reused between trials
    assert all(r["device"] == "cpu" and 0 <= r["stage_seconds"] <= r["trial_seconds"]
               for r in last)
    sys.path.insert(0, str(ROOT / "bench"))
    from sweep_overhead import trial_costs

    costs = trial_costs(storage / "quickstart")
    # (a trial that waited for another to build its shared stage was paused: Tune's
    # clock then counts only its last run, so `held` is not compared with the stages)
    assert len(costs) == 15 and all(c["held"] > 0 and c["trial"] >= c["stages"]
                                    for c in costs), costs

    uri = f"sqlite:///{storage / 'mlflow.db'}"
    parent, children = mlflow_runs(uri, "quickstart")
    assert len(children) == 15 and parent.info.status == "FINISHED"
    assert parent.data.tags["synthetic"] == "true" and parent.data.tags["git_revision"]
    for run in children:
        params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
        assert run.info.status == "FINISHED" and tags["protocol"] == "zero_shot"
        k = int(params["task_count"])
        assert 1 <= k <= 3 and k == len(params["tasks"].split(","))
        assert tags["sweeper.chain"] in "01234" and tags["sweeper.chain_added"] in params["tasks"]
        for lang in ("en", "sw", "hi", "de"):
            assert {f"test.xnli.{lang}.accuracy", f"dev.xnli.{lang}.accuracy"} <= set(metrics)
        assert {"test.xnli.tier.low", "test.tatoeba.avg", "objective"} <= set(metrics)
        assert "dev.tatoeba.avg" not in metrics  # Tatoeba has no selection split
        # strict zero-shot: the objective is XNLI's ENGLISH dev accuracy; the oracle beside
        assert metrics["objective"] == pytest.approx(metrics["dev.xnli.en.accuracy"])
        assert metrics["selection.english_dev"] == metrics["objective"]
        assert "selection.target_dev" in metrics
        # what the intermediate phase trained on: 1200 examples in all, about twice
        assert metrics["intermediate.distinct_examples"] == 120
        assert 1.5 <= metrics["intermediate.max_passes"] <= 3.0
        assert params["budget"] == "epochs=2, examples_total=120, max_passes=3"
        assert float(params["lr"]) == 3e-3 and params["target_epochs.xnli"] == "2.0"
        assert tags["sweeper.baseline_key"] and tags["sweeper.intermediate_key"]
    assert len({r.data.tags["sweeper.baseline_key"] for r in children}) == 1
    _, base_runs = mlflow_runs(uri, "quickstart", role="baseline")
    assert len(base_runs) == 1
    from mlflow.tracking import MlflowClient

    arts = {a.path for a in MlflowClient(uri).list_artifacts(children[0].info.run_id)}
    assert {"trial_config.yaml", "metrics.json", "languages.md", "xtreme"} <= arts
    assert "search_space" in {a.path for a in MlflowClient(uri).list_artifacts(parent.info.run_id)}
    again = run_cli("run", "search_spaces/quickstart.yaml", "--storage", str(storage))
    assert again.returncode == 2 and "sweeper resume quickstart" in again.stderr

    # the report on this real sweep: a count effect with an interval, task values over
    # the chains, files logged to the parent, gains = score - baseline score
    rep = run_cli("report", "quickstart", "--storage", str(storage))
    assert rep.returncode == 0, rep.stderr[-3000:]
    out = storage / "quickstart" / "report"
    text = (out / "report.md").read_text()
    assert "Task values over 5 chains" in text and "SYNTHETIC" in text
    analysis = json.loads((out / "analysis.json").read_text())
    # Tatoeba moves with every intermediate training; XNLI, trained on 120 examples and
    # scored on 40, does not move at all here: no interval rather than a zero-width one
    effect = analysis["count_effect"]["tatoeba"]["all"]["chain"]
    assert effect["low"] is not None and effect["low"] < effect["estimate"] < effect["high"], (
        effect, table_of(storage))
    still = analysis["count_effect"]["xnli"]["all"]["chain"]
    assert still["low"] is not None or "zero-width" in still["note"]
    values = analysis["targets"]["tatoeba"]["chains"]["all"]["values"]
    assert {v["task"] for v in values} == {"mnli", "sst2", "swahili_news", "hausa_voa_topics"}
    import pandas as pd

    table = pd.read_parquet(out / "results.parquet")
    assert table["trial_id"].nunique() == 16  # 15 trials and the baseline
    client = MlflowClient(uri)
    for _, row in table[(table["language"] == "sw") & (table["split"] == "test")
                        & (table["k"] > 0)].iterrows():
        score = client.get_run(row["trial_id"]).data.metrics[f"test.{row['target']}.sw.accuracy"]
        assert row["score"] == pytest.approx(score) and row["gain"] == pytest.approx(
            row["score"] - row["baseline_score"])
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.md", "report/results.parquet", "report/analysis.json"} <= logged

    # storage is code: the driver kept the hashes of what Ray Tune restores from on the
    # parent run; a swapped tuner.pkl is refused before Ray unpickles it (the payload
    # would touch `marker`), and the finished sweep stays FINISHED
    hashes = json.loads(client.get_run(parent.info.run_id).data.tags["sweeper.storage_hashes"])
    assert "tuner.pkl" in hashes and any(n.startswith("experiment_state-") for n in hashes)
    marker = tmp_path / "unpickled"
    (storage / "quickstart" / "tuner.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    bad = run_cli("resume", "quickstart", "--storage", str(storage))
    assert bad.returncode == 2 and "tuner.pkl differ" in bad.stderr, bad.stderr[-2000:]
    assert not marker.exists() and "Traceback" not in bad.stderr
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


class _Payload:
    """A pickle that runs code when loaded: here it only touches a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _worker_pids(root: int) -> list[int]:
    out = []
    for p in psutil.Process(root).children(recursive=True):
        try:
            if "ImplicitFunc" in p.name() or "ImplicitFunc" in " ".join(p.cmdline()):
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


def _finished_trials(uri: str, experiment: str) -> int:
    """Finished trial runs, read only once the sweep has made its store: a reader that
    opened the sqlite file first would create the tables at the same time as the sweep."""
    from mlflow.tracking import MlflowClient

    if not Path(uri[len("sqlite:///"):]).exists():
        return 0
    try:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return 0
        runs = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'")
        return sum(r.data.tags.get("sweeper.role", "trial") == "trial" for r in runs)
    except Exception:  # the store is being created
        return 0


def test_optuna_sweep_with_asha_and_a_continuous_lr_against_an_mlflow_server(tmp_path,
                                                                          monkeypatch):
    """Optuna TPE over "how many, then which" and a continuous learning rate, ASHA between
    the two targets, two trials at a time, every run on the cluster's tracking store in
    miniature (an MLflow server with authentication, on PostgreSQL): the sweep builds one
    baseline per distinct learning rate, every trial with tasks gets its gain, none is left
    RUNNING, nothing is lost; a client without credentials is refused."""
    pg = Postgres()
    server, url, credentials = serve_mlflow_with_auth(tmp_path, pg)
    try:
        from sweeper.errors import ConfigError
        from sweeper.runner.preflight import check_tracking

        for key in credentials:  # a sweep without credentials stops before it starts
            monkeypatch.delenv(key, raising=False)
        with pytest.raises(ConfigError, match="asks for credentials and none were given"):
            check_tracking(url)
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(f"{url}/api/2.0/mlflow/experiments/search?max_results=5")
        for key, value in credentials.items():  # this process's client, and the sweep's
            monkeypatch.setenv(key, value)
        space = tiny_space(tmp_path / "served.yaml",
                           objective={"metric": "gain", "languages": "low_resource"},
                           intermediate={"pool": ["sst2", "qqp", "mnli"], "counts": [1, 2]},
                           hyperparameters={"lr": {"loguniform": [1e-3, 5e-3]},
                                            "max_train_examples": 120, "max_eval_examples": 40,
                                            "intermediate_epochs": 1, "target_epochs": 2},
                           search={"algorithm": "optuna", "num_samples": 3, "max_concurrent": 2,
                                   "scheduler": {"asha": {"grace_period": 1}}, "prior": "rank"})
        done = run_cli("run", str(space), "--storage", str(tmp_path / "runs"),
                       "--tracking-uri", url, subprocess_=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        summary = _summary(tmp_path / "runs", "served")
        assert summary["trials"] == 3 and summary["errored"] == 0 and summary["unfinished"] == 0
        assert summary["finished"] + summary["stopped_early"] == 3 and summary["finished"] >= 1
        parent, trials = mlflow_runs(url, "served")
        _, baselines = mlflow_runs(url, "served", role="baseline")
        assert len(trials) == 3 and len(baselines) == len({t.data.params["lr"] for t in trials})
        assert {t.info.status for t in trials} <= {"FINISHED", "KILLED"}  # none left RUNNING
        for t in trials:
            metrics = t.data.metrics
            assert t.data.tags["sweeper.baseline_run"] in {b.info.run_id for b in baselines}
            assert "w_sst2" not in t.data.params  # the searcher's weights stay out
            if t.info.status == "FINISHED":
                assert metrics["objective"] == pytest.approx(metrics["gain.dev.xnli.tier.low"])
        from mlflow.tracking import MlflowClient

        arts = {a.path for a in MlflowClient(url).list_artifacts(trials[0].info.run_id)}
        assert "metrics.json" in arts
        assert not (tmp_path / "runs" / "mlflow.db").exists()
        assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id
                   for r in trials + baselines)  # nesting kept under concurrent writers
        # the prior: the pool ranked before any trial, logged with the sweep, graded by
        # the report (here too few tasks trained alone to grade: it says so)
        assert parent.data.tags["sweeper.prior"] == "rank"
        assert "ranking/ranking.json" in {a.path for a in MlflowClient(url).list_artifacts(
            parent.info.run_id, "ranking")}
        rep = run_cli("report", "served", "--tracking-uri", url, "--storage",
                      str(tmp_path / "runs"), "--json")
        assert rep.returncode == 0, rep.stderr[-2000:]
        graded = json.loads(rep.stdout)["ranking"]["targets"]["xnli"]
        assert graded["languages"] == ["sw", "ur"] and {"dev", "test"} <= set(graded)
    finally:
        kill_tree(server)
        pg.stop()
    bad = run_cli("run", str(tiny_space(tmp_path / "down.yaml")), "--storage",
                  str(tmp_path / "runs2"), "--tracking-uri", url,
                  env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
    assert bad.returncode == 2 and "MLflow tracking" in bad.stderr


def test_a_killed_worker_retries_and_an_interrupted_sweep_resumes_on_s3(tmp_path):
    """Storage on S3 (moto on 127.0.0.1). A trial worker killed after its intermediate
    checkpoint is retried from it (the phase runs once); then Ctrl-C, and `sweeper resume
    NAME --storage s3://...` finishes the sweep with no run lost or duplicated."""
    server, env = serve_s3(tmp_path)
    try:
        space = tiny_space(tmp_path / "resumable.yaml",
                           intermediate={"sets": [["sst2"], [], ["qqp"]]})
        db = f"sqlite:///{tmp_path / 'mlflow.db'}"
        storage = "s3://sweeps/runs"
        proc = start_cli("run", str(space), "--storage", storage, "--tracking-uri", db,
                         "--cache", str(tmp_path / "stage_cache"), env=env)
        killed = _kill_a_worker_after_a_checkpoint(proc, tmp_path / "stage_cache")
        deadline = time.time() + 300
        while (logged := _finished_trials(db, "resumable")) < 1 and time.time() < deadline:
            time.sleep(0.5)  # interrupt once the first trial has closed its MLflow run
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=300)
        assert killed and logged >= 1 and proc.returncode == 130, out[-3000:]
        assert "sweeper resume resumable" in out
        done = run_cli("resume", "resumable", "--storage", storage, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "3 finished" in done.stdout
        parent, children = mlflow_runs(db, "resumable")
        keys = [r.data.tags["sweeper.trial_key"] for r in children]
        assert len(children) == 3 and len(set(keys)) == 3
        assert {r.info.status for r in children} == {"FINISHED"} and \
            parent.info.status == "FINISHED"
        from mlflow.tracking import MlflowClient

        first = next(r for r in children if r.data.params["tasks"] == "sst2")
        history = MlflowClient(db).get_metric_history(first.info.run_id,
                                                      "train.intermediate.loss")
        steps = [m.step for m in history]
        assert steps and len(steps) == len(set(steps))  # the phase ran once, not again
        # artifacts beside the sqlite store for a URI storage, never in ./mlruns
        assert all(r.info.artifact_uri.startswith(tmp_path.as_uri()) for r in [parent, *children])
    finally:
        kill_tree(server)


def _kill_a_worker_after_a_checkpoint(proc: subprocess.Popen, cache: Path) -> list[int]:
    """Kill the trial workers once the first intermediate stage is in the stage cache
    (the trial has checkpointed it)."""
    deadline, killed = time.time() + 300, []
    while time.time() < deadline and not killed and proc.poll() is None:
        if [p for p in cache.glob("*/COMPLETE") if not p.parent.name.startswith("baseline-")]:
            time.sleep(1.0)  # its report and checkpoint follow the stage
            for pid in _worker_pids(proc.pid):
                psutil.Process(pid).kill()
                killed.append(pid)
        time.sleep(0.2)
    return killed


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_disk_ends_in_one_line_and_resume_completes_the_sweep(tmp_path):
    """Storage and stage cache on a 2 MB tmpfs (a real full disk, not a mock). Told not to
    wait for room, the sweep ends with one line, exit 2, and no run left RUNNING. Its
    resume meets the same full disk and waits for room; once the file system grows it
    finishes every trial once, with no second resume."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        space = tiny_space(tmp_path / "full.yaml", intermediate={"sets": [["sst2"], ["qqp"]]},
                           targets=["tatoeba"])  # scored from the encoder: no fine-tuning
        db = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the store on a disk with room
        done = run_cli("run", str(space), "--storage", str(disk / "runs"), "--tracking-uri",
                       db, env={"SWEEPER_DISK_PATIENCE_S": "0"})
        lines = [x for x in done.stderr.splitlines() if x.startswith("sweeper:")]
        assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
        assert len(lines) == 1 and "no space left on" in lines[0], done.stderr[-3000:]
        parent, children = mlflow_runs(db, "full")
        assert parent.info.status == "FAILED" and "no space" in parent.data.tags["error"]
        assert all(r.info.status != "RUNNING" for r in children)
        log = tmp_path / "resume.log"
        with open(log, "w") as out:
            again = subprocess.Popen([sys.executable, "-m", "sweeper.cli", "resume", "full",
                                      "--storage", str(disk / "runs")], cwd=ROOT, stdout=out,
                                     stderr=subprocess.STDOUT,
                                     env={**os.environ, "SWEEPER_DISK_PATIENCE_S": "300"})
        try:
            deadline = time.time() + 240
            while "waiting up to" not in log.read_text() and again.poll() is None:
                assert time.time() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            assert again.poll() is None, log.read_text()[-3000:]  # a trial waits for room
            subprocess.run(["mount", "-o", "remount,size=256m", str(disk)], check=True)
            assert again.wait(timeout=300) == 0, log.read_text()[-3000:]
        finally:
            if again.poll() is None:
                again.kill()
        assert "room on" in log.read_text()
        parent, children = mlflow_runs(db, "full")
        keys = [r.data.tags["sweeper.trial_key"] for r in children]
        assert parent.info.status == "FINISHED" and len(children) == 2
        assert len(set(keys)) == 2 and {r.info.status for r in children} == {"FINISHED"}
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
