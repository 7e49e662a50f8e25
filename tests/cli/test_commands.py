"""The command line: catalog listing, validation, and bad input (one line, exit 2)."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_cli


def _one_line_error(done, *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("sweeper: error:")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_tasks_json_lists_the_catalog():
    done = run_cli("tasks", "--json")
    assert done.returncode == 0
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert {"xnli", "tatoeba", "mnli", "ccg"} <= set(rows)
    assert sum(not r["english"] and r["role"] == "intermediate" for r in rows.values()) >= 8
    assert rows["xnli_de"]["protocol"] == "translate_train for xnli; in_language for pawsx"
    assert rows["xnli"]["source"].startswith("google/xtreme")
    table = run_cli("tasks").stdout.splitlines()
    assert len(table) == len(rows) + 1 and table[0].split()[:5] == ["name", "role", "type",
                                                                      "metric", "license"]


def test_tasks_show_and_filter_licences():
    rows = {r["name"]: r for r in json.loads(run_cli("tasks", "--json").stdout)}
    assert rows["xnli"]["license"] == "CC-BY-NC-4.0" and rows["xnli"]["non_commercial"]
    assert all(r["license"] for r in rows.values())
    nc = json.loads(run_cli("tasks", "--license", "non-commercial", "--json").stdout)
    assert {r["name"] for r in nc} == {n for n, r in rows.items() if r["non_commercial"]}
    assert "xnli" in {r["name"] for r in nc} and "mnli" not in {r["name"] for r in nc}
    exact = json.loads(run_cli("tasks", "--license", "cc-by-sa-4.0", "--json").stdout)
    assert exact and all(r["license"] == "CC-BY-SA-4.0" for r in exact)
    custom = json.loads(run_cli("tasks", "--license", "custom", "--json").stdout)
    assert custom and all(r["license"].startswith("custom: ") for r in custom)


def test_validate_ok():
    done = run_cli("validate", "search_spaces/quickstart.yaml")
    assert done.returncode == 0 and "ok" in done.stdout and "trials" in done.stdout
    listed = run_cli("validate", "search_spaces/quickstart.yaml", "--list")
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0 and len(lines) == 15 + 1 and "1 chain 0:" in lines[0]
    # 5 chains x 3 positions; 12 distinct sets; one baseline; a target training each
    assert "1 baselines, 12 intermediate trainings, 16 target trainings" in lines[-1]


def test_every_shipped_space_validates_and_hub_bucc_is_flagged(tmp_path):
    for space in sorted((ROOT / "search_spaces").glob("*.yaml")):
        done = run_cli("validate", str(space))
        assert done.returncode == 0, (space.name, done.stderr)
        if "bucc2018" in space.read_text() and "data: hub" in space.read_text():
            assert "bucc2018 from the hub: gold pairs only" in done.stderr
            assert "not comparable with XTREME" in done.stderr
    # without the explicit permission, gold-pair-only BUCC is refused
    text = (ROOT / "search_spaces" / "xstilts.yaml").read_text()
    (tmp_path / "x.yaml").write_text(text.replace("allow_gold_only_bucc: true", ""))
    done = run_cli("validate", str(tmp_path / "x.yaml"))
    assert done.returncode == 2 and "allow_gold_only_bucc: true" in done.stderr
    assert "sweeper data import bucc2018" in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("args, needles", [
    (["trial", "--target", "xnlii", "--model", "tiny", "--out", "{tmp}/o"],
     ["unknown task 'xnlii'"]),
    (["trial", "--target", "xnli", "--model", "tiny", "--out", "{tmp}/o", "--set",
      "eval_languages=xx"], ["unknown language", "'xx'"]),
    (["trial", "--target", "xnli", "--intermediate", "pawsx", "--model", "tiny", "--out",
      "{tmp}/o"], ["'pawsx' is not an intermediate"]),
    (["trial", "--target", "xnli", "--model", "tiny", "--out", "{tmp}/o", "--set", "lr=fast"],
     ["setting 'lr'"]),
    (["trial", "--target", "xnli", "--model", "tiny", "--data", "{tmp}/nodata", "--out",
      "{tmp}/o"], ["data directory not found"]),
    (["trial", "--target", "xnli", "--model", "tiny", "--data", "{tmp}", "--out", "{tmp}/o"],
     ["missing split", "mnli/en/train"]),
    (["trial", "--target", "xnli", "--model", "tiny", "--data", "hub", "--out", "{tmp}/o"],
     ["cannot load nyu-mll/glue", "hub"]),
    (["trial", "--target", "xnli", "--model", "no-such/model", "--out", "{tmp}/o"],
     ["model 'no-such/model'", "--model tiny"]),
    (["validate", "{tmp}/bad.yaml"], ["not valid YAML"]),
    (["validate", "{tmp}/unknown.yaml"], ["unknown key", "colour"]),
    (["validate", "{tmp}/missing.yaml"], ["not found"]),
    (["run", "{tmp}/unknown.yaml", "--storage", "{tmp}/runs"], ["unknown key"]),
    (["resume", "nothing-here", "--storage", "{tmp}/runs"], ["no sweep 'nothing-here'"]),
    (["data", "export", "--tasks", "mnli", "--out", "{tmp}/exp"], ["cannot load nyu-mll/glue"]),
    (["data", "export", "--tasks", "nope", "--out", "{tmp}/exp"], ["unknown task 'nope'"]),
    (["data", "check", "--tasks", "mnli"], ["hub is switched off here", "HF_HUB_OFFLINE"]),
    (["data", "check", "--tasks", "nope"], ["unknown task 'nope'"]),
    (["data", "import", "bucc2018", "--from", "{tmp}", "--out", "{tmp}/imp", "--languages",
      "sw"], ["bucc2018 has no language(s) sw"]),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, needles):
    (tmp_path / "bad.yaml").write_text("targets: [xnli\n")
    (tmp_path / "unknown.yaml").write_text("targets: [xnli]\ncolour: blue\n")
    done = run_cli(*[a.format(tmp=tmp_path) for a in args], cwd=ROOT)
    _one_line_error(done, *needles)
    assert not (tmp_path / "o" / "metrics.json").exists()  # nothing marked successful


def test_tasks_into_a_closed_pipe_is_not_an_error():
    import subprocess
    import sys

    done = subprocess.run(f"{sys.executable} -m sweeper.cli tasks | head -1", shell=True,
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("name") and not done.stderr


def test_validate_warns_about_a_scheduler_under_scaling_curves(tmp_path):
    import yaml

    space = {"model": "tiny", "data": "sample", "targets": ["xnli"],
             "intermediate": {"pool": ["mnli", "qqp", "sst2"], "counts": [0, 1, 2, 3]},
             "search": {"algorithm": "optuna", "num_samples": 4,
                        "scheduler": {"asha": {"grace_period": 1}}}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(space))
    done = run_cli("validate", str(tmp_path / "s.yaml"))
    assert done.returncode == 0 and "warning: a scheduler stops trials early" in done.stderr
    space["search"].pop("scheduler")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(space))
    assert "scheduler" not in run_cli("validate", str(tmp_path / "s.yaml")).stderr
