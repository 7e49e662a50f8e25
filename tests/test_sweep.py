"""Sweeps with the real Ray and MLflow, on 127.0.0.1 only."""

from __future__ import annotations

import csv
import json
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, run_cli
from sweeps import FAST, ListenWatch, kill_tree, mlflow_runs, start_cli, tiny_space

pytestmark = pytest.mark.slow


def _summary(storage: Path, name: str) -> dict:
    return json.loads((storage / name / "summary.json").read_text())


def test_quickstart_sweep_end_to_end(tmp_path, catalog):
    storage = tmp_path / "runs"
    proc = start_cli("run", "search_spaces/quickstart.yaml", "--storage", str(storage), *FAST)
    watch = ListenWatch(proc.pid)
    watch.start()
    out, _ = proc.communicate(timeout=600)
    watch.stop.set()
    assert proc.returncode == 0, out[-4000:]
    assert watch.seen and not watch.wide(), watch.wide()  # Ray listened, on loopback only
    assert "Intermediate trainings:" in out and "Best trials" in out
    summary = _summary(storage, "quickstart")
    assert summary["finished"] == summary["trials"] == 10 and summary["errored"] == 0
    # one intermediate training per distinct configuration; the rest came from the cache
    assert summary["intermediate_trained"] == summary["intermediate_configs"] == 4
    assert summary["intermediate_from_cache"] == 4
    entries = [p.parent.name for p in (storage / "quickstart" / "stage_cache").glob("*/COMPLETE")]
    assert len([e for e in entries if not e.startswith("baseline-")]) == 4
    assert len([e for e in entries if e.startswith("baseline-")]) == 2  # target_epochs 2, 3
    # bookkeeping: each trial keeps one checkpoint (every stage's outputs once, no encoder:
    # encoders live in the stage cache), 10 trials ran on the 2 workers, each reporting its
    # device and how much of its time its stages took
    trials = sorted((storage / "quickstart").glob("sweeper_trial_*"))
    assert [len(list(t.glob("checkpoint_*"))) for t in trials] == [1] * 10
    assert not list((storage / "quickstart").glob("sweeper_trial_*/checkpoint_*/**/*.safetensors"))
    last = [json.loads((t / "result.json").read_text().splitlines()[-1]) for t in trials]
    assert len({r["pid"] for r in last}) == 2  # workers reused between trials
    assert all(r["device"] == "cpu" and 0 <= r["stage_seconds"] <= r["trial_seconds"]
               for r in last)
    sys.path.insert(0, str(ROOT / "bench"))
    from sweep_overhead import trial_costs

    costs = trial_costs(storage / "quickstart")
    assert len(costs) == 10 and all(c["held"] >= c["stages"] for c in costs)

    uri = f"sqlite:///{storage / 'mlflow.db'}"
    parent, children = mlflow_runs(uri, "quickstart")
    assert len(children) == 10 and parent.info.status == "FINISHED"
    assert parent.data.tags["synthetic"] == "true" and parent.data.tags["git_revision"]
    for run in children:
        params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
        assert run.info.status == "FINISHED" and tags["protocol"] == "zero_shot"
        assert int(params["task_count"]) == len([t for t in params["tasks"].split(",")
                                                 if t and t != "(none)"])
        for lang in ("en", "sw", "hi", "de"):
            assert f"test.xnli.{lang}.accuracy" in metrics and f"dev.xnli.{lang}.accuracy" in metrics
        assert {"test.xnli.tier.low", "test.tatoeba.avg", "objective"} <= set(metrics)
        assert "dev.tatoeba.avg" not in metrics  # Tatoeba has no selection split
        # the objective is the mean DEV accuracy over XNLI's low-resource languages
        low = [m for k, m in metrics.items() if k.startswith("dev.xnli.")
               and k.endswith(".accuracy") and k.split(".")[2] in catalog.groups["low_resource"]]
        assert metrics["objective"] == pytest.approx(sum(low) / len(low))
        if int(params["task_count"]):
            assert "train.intermediate.loss" in metrics
        # effective values, and the keys that decide reuse and comparison
        assert float(params["lr"]) == 3e-3 and params["target_epochs.xnli"] in ("2.0", "3.0")
        assert tags["sweeper.baseline_key"]
        assert bool(tags["sweeper.intermediate_key"]) == bool(int(params["task_count"]))
    # trials sharing an intermediate phase share its key; target epochs split baselines
    by_key: dict = {}
    for run in children:
        if run.data.tags["sweeper.intermediate_key"]:
            by_key.setdefault(run.data.tags["sweeper.intermediate_key"], set()).add(
                run.data.params["tasks"])
    assert len(by_key) == 4 and all(len(tasks) == 1 for tasks in by_key.values())
    baselines = {r.data.tags["sweeper.baseline_key"] for r in children}
    assert len(baselines) == 2  # one per target_epochs value
    # the sweep's own baseline runs: one per key, and every trial names its baseline run
    _, base_runs = mlflow_runs(uri, "quickstart", role="baseline")
    assert {r.data.tags["sweeper.baseline_key"] for r in base_runs} == baselines
    assert len(base_runs) == 2
    by_id = {r.info.run_id: r for r in base_runs}
    for run in children:
        base = by_id[run.data.tags["sweeper.baseline_run"]]
        assert base.data.tags["sweeper.baseline_key"] == run.data.tags["sweeper.baseline_key"]
        if int(run.data.params["task_count"]):
            for split in ("dev", "test"):
                gain = run.data.metrics[f"gain.{split}.xnli.sw"]
                assert gain == pytest.approx(run.data.metrics[f"{split}.xnli.sw.accuracy"]
                                             - base.data.metrics[f"{split}.xnli.sw.accuracy"])
    from mlflow.tracking import MlflowClient

    arts = {a.path for a in MlflowClient(uri).list_artifacts(children[0].info.run_id)}
    assert {"trial_config.yaml", "metrics.json", "languages.md", "xtreme"} <= arts
    assert "search_space" in {a.path for a in MlflowClient(uri).list_artifacts(parent.info.run_id)}
    again = run_cli("run", "search_spaces/quickstart.yaml", "--storage", str(storage))
    assert again.returncode == 2 and "sweeper resume quickstart" in again.stderr

    # the report on this real sweep: files, logged to the parent, gains = score - baseline
    rep = run_cli("report", "quickstart", "--storage", str(storage))
    assert rep.returncode == 0, rep.stderr[-3000:]
    out = storage / "quickstart" / "report"
    assert (out / "report.md").exists() and (out / "scaling_xnli.png").exists()
    assert (out / "heatmap_tatoeba.png").exists()
    client = MlflowClient(uri)
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len({r["run_id"] for r in rows}) == 8  # the trials with tasks; k = 0 is the reference
    for row in rows:
        if row["count"] != "0" and row["language"] == "sw":
            score = client.get_run(row["run_id"]).data.metrics[f"test.{row['target']}.sw.accuracy"]
            base = client.get_run(row["baseline_run_id"]).data.metrics[
                f"test.{row['target']}.sw.accuracy"]
            assert float(row["gain"]) == pytest.approx(score - base, abs=1e-3)
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert "report/report.md" in logged and "report/results.csv" in logged


def _worker_pids(root: int) -> list[int]:
    out = []
    for p in psutil.Process(root).children(recursive=True):
        try:
            if "ImplicitFunc" in p.name() or "ImplicitFunc" in " ".join(p.cmdline()):
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


def test_killed_trial_worker_is_retried_from_its_checkpoint(tmp_path):
    space = tiny_space(tmp_path / "killme.yaml")
    storage = tmp_path / "runs"
    proc = start_cli("run", str(space), "--storage", str(storage))
    deadline = time.time() + 300
    killed = []
    while time.time() < deadline and not killed:  # after the intermediate checkpoint
        if list((storage / "killme").glob("sweeper_trial_*/checkpoint_*")):
            for pid in _worker_pids(proc.pid):
                psutil.Process(pid).kill()
                killed.append(pid)
        time.sleep(0.2)
    out, _ = proc.communicate(timeout=600)
    assert killed, out[-3000:]
    assert proc.returncode == 0, out[-4000:]
    summary = _summary(storage, "killme")
    assert summary["finished"] == 1 and summary["intermediate_trained"] == 1
    _, children = mlflow_runs(f"sqlite:///{storage / 'mlflow.db'}", "killme")
    assert len(children) == 1 and children[0].info.status == "FINISHED"
    from mlflow.tracking import MlflowClient

    history = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}").get_metric_history(
        children[0].info.run_id, "train.intermediate.loss")
    steps = [m.step for m in history]
    assert len(steps) == len(set(steps))  # the intermediate phase ran once, not again


def _finished_trials(uri: str, experiment: str, state: Path) -> int:
    """Finished trial runs, read only once the sweep has made its store (its state file
    is written after its parent run): a reader that opened the sqlite file first would
    create the tables at the same time as the sweep."""
    from mlflow.tracking import MlflowClient

    if not state.exists():
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


@pytest.mark.parametrize("kind", ["path", "file_uri"])
def test_interrupted_sweep_is_resumed_without_duplicate_runs(tmp_path, kind):
    """Ctrl-C, then `sweeper resume NAME --storage S`, with S a folder or a file:// URI
    (the sweep's state sits in the storage, read through the filesystems Tune uses)."""
    space = tiny_space(tmp_path / "resumable.yaml",
                       intermediate={"sets": [[], ["sst2"], ["qqp"], ["sst2", "qqp"]]})
    local = tmp_path / "runs"
    db = f"sqlite:///{tmp_path / 'mlflow.db'}"
    storage = str(local) if kind == "path" else f"file://{local}"
    extra = ["--tracking-uri", db, "--cache", str(tmp_path / "stage_cache")]
    proc = start_cli("run", str(space), "--storage", storage, *extra)
    deadline = time.time() + 300
    while (logged := _finished_trials(db, "resumable", local / "resumable" / "sweeper.json")) \
            < 1 and time.time() < deadline:
        time.sleep(0.5)  # interrupt once the first trial has closed its MLflow run
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert logged >= 1 and proc.returncode == 130, out[-3000:]
    assert "sweeper resume resumable" in out
    first = _summary(local, "resumable")
    # Tune may not have taken that trial's last report yet (its run is closed just before
    # it): then Tune counts it unfinished and the resume runs it again, into the same run
    assert first["finished"] < 4 and first["finished"] + first["unfinished"] == 4
    done = run_cli("resume", "resumable", "--storage", storage)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _summary(local, "resumable")["finished"] == 4
    parent, children = mlflow_runs(db, "resumable")
    keys = [r.data.tags["sweeper.trial_key"] for r in children]
    assert len(children) == 4 and len(set(keys)) == 4
    assert {r.info.status for r in children} == {"FINISHED"}
    assert parent.info.status == "FINISHED"
    # artifacts under the storage, or beside the sqlite store for a URI storage: never in
    # ./mlruns of whatever folder the command ran from
    assert all(r.info.artifact_uri.startswith(tmp_path.as_uri()) for r in [parent, *children])


def test_sweep_against_an_mlflow_server(tmp_path):
    import socket
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = psutil.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                           "--port", str(port), "--workers", "1", "--backend-store-uri",
                           f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
                           str(tmp_path / "artifacts")], start_new_session=True,
                          stdout=open(tmp_path / "server.log", "w"), stderr=-2)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        # Optuna TPE over "how many, then which", with ASHA between the two targets
        space = tiny_space(tmp_path / "served.yaml",
                           intermediate={"pool": ["sst2", "qqp", "mnli"], "counts": [0, 1, 2]},
                           search={"algorithm": "optuna", "num_samples": 3, "max_concurrent": 1,
                                   "scheduler": {"asha": {"grace_period": 1}}})
        done = run_cli("run", str(space), "--storage", str(tmp_path / "runs"),
                       "--tracking-uri", url)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        summary = json.loads((tmp_path / "runs" / "served" / "summary.json").read_text())
        assert summary["trials"] == 3 and summary["errored"] == 0 and summary["unfinished"] == 0
        assert summary["finished"] + summary["stopped_early"] == 3 and summary["finished"] >= 1
        parent, children = mlflow_runs(url, "served")
        assert len(children) == 3 and all("test.xnli.sw.accuracy" in c.data.metrics for c in children)
        assert {c.info.status for c in children} <= {"FINISHED", "KILLED"}  # none left RUNNING
        for c in children:
            assert int(c.data.params["task_count"]) in (0, 1, 2)
        from mlflow.tracking import MlflowClient

        arts = {a.path for a in MlflowClient(url).list_artifacts(children[0].info.run_id)}
        assert "metrics.json" in arts
        assert not (tmp_path / "runs" / "mlflow.db").exists()
    finally:
        kill_tree(server)
    bad = run_cli("run", str(tiny_space(tmp_path / "down.yaml")), "--storage",
                  str(tmp_path / "runs2"), "--tracking-uri", url,
                  env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
    assert bad.returncode == 2 and "MLflow tracking" in bad.stderr


def test_optuna_sweep_with_a_continuous_lr_gives_every_trial_a_gain(tmp_path):
    """The README's example: a continuous learning rate. The sweep builds one baseline per
    distinct value, every trial with tasks gets its gain, and the report draws curves."""
    storage = tmp_path / "runs"
    space = tiny_space(tmp_path / "lrsweep.yaml", targets=["xnli"],
                       objective={"metric": "gain", "languages": "low_resource"},
                       intermediate={"pool": ["sst2", "qqp", "mnli"], "counts": [1, 2]},
                       hyperparameters={"lr": {"loguniform": [1e-3, 5e-3]},
                                        "max_train_examples": 200, "max_eval_examples": 60,
                                        "intermediate_epochs": 1, "target_epochs": 2},
                       seeds=[0],
                       search={"algorithm": "optuna", "num_samples": 3, "max_concurrent": 1})
    done = run_cli("run", str(space), "--storage", str(storage), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    uri = f"sqlite:///{storage / 'mlflow.db'}"
    _, trials = mlflow_runs(uri, "lrsweep")
    _, baselines = mlflow_runs(uri, "lrsweep", role="baseline")
    assert len(trials) == 3 and len(baselines) == len({t.data.params["lr"] for t in trials})
    base_ids = {b.info.run_id for b in baselines}
    for t in trials:
        assert t.data.tags["sweeper.baseline_run"] in base_ids
        assert "gain.test.xnli.avg" in t.data.metrics and "gain.dev.xnli.tier.low" in t.data.metrics
        assert t.data.metrics["objective"] == pytest.approx(t.data.metrics["gain.dev.xnli.tier.low"])
        assert "w_sst2" not in t.data.params  # the searcher's weights stay out of the params
    rep = run_cli("report", "lrsweep", "--storage", str(storage))
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = (storage / "lrsweep" / "report" / "report.md").read_text()
    assert "no baseline" not in text and (storage / "lrsweep" / "report" /
                                          "scaling_xnli.png").exists()


def test_one_name_twice_in_one_tracking_store(tmp_path):
    """A second sweep with a used name refuses unless --new; then each sweep has its own
    id on every run, and the report reads exactly one of them."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    space = tiny_space(tmp_path / "twice.yaml", targets=["tatoeba"],
                       eval_languages=["de", "sw"], intermediate={"sets": [["sst2"]]})
    first = run_cli("run", str(space), "--storage", str(tmp_path / "a"), "--tracking-uri", uri)
    assert first.returncode == 0, first.stderr[-2000:]
    again = run_cli("run", str(space), "--storage", str(tmp_path / "b"), "--tracking-uri", uri)
    assert again.returncode == 2 and "already in the tracking store" in again.stderr
    assert not (tmp_path / "b").exists()
    second = run_cli("run", str(space), "--storage", str(tmp_path / "b"), "--tracking-uri",
                     uri, "--new")
    assert second.returncode == 0, second.stderr[-2000:]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("twice")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("sweeper.role") == "sweep"]
    ids = {p.data.tags["sweeper.sweep_id"] for p in parents}
    assert len(parents) == 2 and len(ids) == 2
    for r in runs:  # every run names its sweep, and sits under that sweep's parent
        sid = r.data.tags["sweeper.sweep_id"]
        if r.data.tags.get("sweeper.role") != "sweep":
            parent = next(p for p in parents if p.info.run_id == r.data.tags["mlflow.parentRunId"])
            assert parent.data.tags["sweeper.sweep_id"] == sid
    ambiguous = run_cli("report", "twice", "--tracking-uri", uri)
    assert ambiguous.returncode == 2 and "2 sweeps are called 'twice'" in ambiguous.stderr
    sid = sorted(ids)[0]
    one = run_cli("report", sid, "--tracking-uri", uri, "--out", str(tmp_path / "rep"))
    assert one.returncode == 0, one.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "rep" / "results.csv")))
    mine = {r.info.run_id for r in runs if r.data.tags["sweeper.sweep_id"] == sid}
    assert rows and {r["run_id"] for r in rows} <= mine
    listed = run_cli("ls", "--tracking-uri", uri)
    assert listed.returncode == 0 and all(i in listed.stdout for i in ids)


def test_sweep_on_s3_storage_served_on_loopback_resumes_by_name(tmp_path):
    """An S3-compatible server (moto) on 127.0.0.1 as --storage: the sweep's state is
    written there, and `sweeper resume NAME --storage s3://...` finds it."""
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = psutil.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                           str(port)], start_new_session=True, stdout=open(tmp_path / "moto.log",
                                                                           "w"), stderr=-2)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    try:
        import boto3

        for _ in range(100):
            try:
                boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                             aws_access_key_id="testing",
                             aws_secret_access_key="testing").create_bucket(Bucket="sweeps")
                break
            except Exception:
                time.sleep(0.3)
        space = tiny_space(tmp_path / "ons3.yaml", targets=["tatoeba"],
                           eval_languages=["de", "sw"], intermediate={"sets": [["sst2"]]})
        db = f"sqlite:///{tmp_path / 'mlflow.db'}"
        args = ["--storage", "s3://sweeps/runs", "--tracking-uri", db]
        done = run_cli("run", str(space), *args, "--cache", str(tmp_path / "cache"), env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="sweeps")["Contents"]}
        assert {"runs/ons3/sweeper.json", "runs/ons3/summary.json"} <= keys
        again = run_cli("resume", "ons3", "--storage", "s3://sweeps/runs", env=env)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        _, children = mlflow_runs(db, "ons3")
        assert len(children) == 1 and children[0].info.status == "FINISHED"
    finally:
        kill_tree(server)
