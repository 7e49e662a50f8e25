"""Bad input of every kind: one line naming the culprit, exit 2, no traceback, quickly,
and nothing created or left RUNNING. A table with one case per kind, then a
property-based fuzz over search-space files and CLI arguments (every case exits 0 or 2
and never prints a traceback). Commands run in-process through `sweeper.cli.main`."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweeper.cli import main

SPACE = {"model": "tiny", "data": "sample", "targets": ["xnli"],
         "intermediate": {"pool": ["mnli", "qqp"], "counts": [0, 1]},
         "search": {"algorithm": "grid"}}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's --help / --version
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_one_line(code: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def _space(tmp: Path, **changes) -> str:
    raw = json.loads(json.dumps(SPACE))
    for key, value in changes.items():
        path = key.split("__")
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    path = tmp / "space.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


SPACE_CASES = [
    ({"intermediate": "mnli"}, "intermediate"),                      # scalar for a mapping
    ({"hyperparameters": {"lr": {"uniform": ["a", "b"]}}}, "hyperparameters.lr.uniform"),
    ({"intermediate__counts": {"min": 2, "max": 1}}, "intermediate.counts"),
    ({"search__scheduler": {"asha": 3}}, "search.scheduler.asha"),
    ({"hyperparameters": {"lr": {"choice": [-1, 0]}}}, "lr must be > 0"),
    ({"hyperparameters": {"sampling": "shuffled"}}, "sampling 'shuffled'"),
    ({"intermediate__draws": 0}, "intermediate.draws"),
    ({"eval_languages": ["ja"]}, "include none of xnli"),
    ({"name": "../escape"}, "name"),
    ({"seeds": [-1]}, "seeds"),
    ({"hyperparameters": {"lr": "inf"}}, "lr must be a finite number"),
    ({"hyperparameters": {"batch_size": {"int": [0, 4]}}}, "batch_size must be >= 1"),
    ({"resources": {"cpu": 0}}, "resources.cpu"),
    ({"data": "hub", "intermediate": {"pool": ["ccg"], "counts": [1]}},
     "task 'ccg' is not on the hub"),
    ({"intermediate__exclude": ["nope"]}, "unknown task 'nope'"),
    ({"data": "hub", "intermediate": {"pool": ["ccg"], "counts": [1]},
      "local": {"ccg": "/nonexistent/ccgbank"}}, "data directory not found"),
    ({"local": {"nope": "/tmp"}}, "unknown task 'nope'"),
    ({"intermediate": {"pool": ["mnli"], "counts": [1],
                       "chains": {"pool": ["mnli", "qqp"], "length": 2, "permutations": 3}}},
     "chains replace counts, pool"),
    ({"intermediate": {"chains": {"pool": ["mnli", "qqp"], "length": 3, "permutations": 3}}},
     "chains.length 3 is longer than the chain pool"),
    ({"intermediate": {"chains": {"pool": ["mnli", "qqp"], "length": 2, "permutations": 3}},
      "search": {"algorithm": "optuna"}}, "chains and budget arms are grid designs"),
    ({"intermediate__budget": {"steps": 10, "epochs": 2}}, "steps or epochs, not both"),
    ({"intermediate__budget": {"examples_total": 10, "examples_per_task": 5}},
     "examples_per_task or examples_total, not both"),
    ({"intermediate__budget": {"epochs": 2}, "hyperparameters": {"intermediate_epochs": 1}},
     "move intermediate_epochs there"),
    ({"intermediate__budget": [{"name": "a", "epochs": 1}, {"name": "a", "epochs": 2}]},
     "arms repeat a name"),
    ({"intermediate__examples_cap": 100}, "unknown key 'intermediate.examples_cap'"),
    ({"hyperparameters": {"examples_total": 100}}, "'examples_total' is not a hyperparameter"),
]


@pytest.mark.parametrize("changes, needle", SPACE_CASES)
def test_malformed_space_values_fail_validate_with_their_key_path(tmp_path, changes, needle):
    code, _, err = cli("validate", _space(tmp_path, **changes))
    assert_one_line(code, err, needle)


def test_a_scalar_where_a_list_belongs_is_one_element(tmp_path):
    code, out, err = cli("validate", _space(tmp_path, targets="xnli"))
    assert code == 0 and "targets xnli;" in out, err


TRIAL = ["trial", "--target", "xnli", "--model", "tiny"]


def test_trial_inputs(tmp_path):
    (tmp_path / "file").write_text("x")
    cases = [
        (TRIAL + ["--out", str(tmp_path / "file")], ["--out", "is a file"]),
        (TRIAL + ["--out", str(tmp_path / "file" / "sub")], ["lies under"]),
        (TRIAL + ["--out", str(tmp_path / "o"), "--set", "seed=-1"], ["seed must be >= 0"]),
        (TRIAL + ["--out", str(tmp_path / "o"), "--set", "lr=inf"], ["finite"]),
        (["trial", "--target", "tatoeba", "--model", "tiny", "--out", str(tmp_path / "o"),
          "--set", "retrieval_layer=9"], ["retrieval_layer 9 is deeper"]),
        (["trial", "--target", "xnli", "--out", str(tmp_path / "o")],  # default model, offline
         ["xlm-roberta-large", "--model tiny"]),
        (TRIAL + ["--out", str(tmp_path / "o"), "--set", "nonsense"], ["key=value"]),
        (TRIAL[:-2] + ["--out", str(tmp_path / "o"), "--bogus"], ["unrecognized arguments"]),
    ]
    for args, needles in cases:
        code, _, err = cli(*args)
        assert_one_line(code, err, *needles)
    assert not (tmp_path / "o").exists()


def test_missing_local_split_is_found_before_training(tmp_path, catalog):
    from sweeper.data.export import export

    data = tmp_path / "data"
    export(catalog, ["xnli", "mnli"], out=data, source="sample", languages=["en", "sw"],
           splits=["train", "validation", "test"])
    (data / "xnli" / "sw" / "test.parquet").unlink()
    tick = time.perf_counter()
    code, _, err = cli(*TRIAL, "--data", str(data), "--out", str(tmp_path / "o"),
                       "--set", "eval_languages=en,sw")
    assert_one_line(code, err, "missing split", "xnli/sw/test")
    assert time.perf_counter() - tick < 30 and not (tmp_path / "o" / "stages").exists()


def test_sweep_starts_that_cannot_succeed_fail_fast_and_leave_nothing(tmp_path):
    space = _space(tmp_path)
    (tmp_path / "file").write_text("x")
    storage = str(tmp_path / "runs")
    cases = [
        (["run", space, "--storage", str(tmp_path / "file")], ["--storage", "is a file"]),
        (["run", space, "--storage", storage, "--address", "127.0.0.1:9"],
         ["with --address, give --tracking-uri"]),  # no server, no explicit sqlite
        (["run", space, "--storage", storage, "--address", "127.0.0.1:9", "--tracking-uri",
          f"sqlite:///{tmp_path}/shared.db"], ["nothing answers at --address"]),
        (["run", space, "--storage", storage, "--tracking-uri", "http://127.0.0.1:9"],
         ["MLflow tracking at http://127.0.0.1:9"]),
        (["run", _space(tmp_path, resources={"gpu": 1}), "--storage", storage],
         ["asks for 1 GPU"]),
        (["run", space, "--storage", storage, "--set", "search.algorithm.x=1"],
         ["not a mapping"]),
        (["report", "nothing", "--storage", storage], ["no MLflow store"]),
        (["ls", "--storage", storage], ["no MLflow store"]),
        (["data", "export", "--tasks", "mnli", "--source", "sample", "--out",
          str(tmp_path / "file" / "x")], ["--out", "lies under"]),
    ]
    for args, needles in cases:
        tick = time.perf_counter()
        code, _, err = cli(*args)
        assert_one_line(code, err, *needles)
        assert time.perf_counter() - tick < 20, args
    # nothing was made: no sweep folder, no MLflow store, so no RUNNING run either
    assert not (tmp_path / "runs").exists()


def test_malformed_qa_predictions_are_one_line(tmp_path, catalog):
    from test_xtreme import _build

    _build(tmp_path, catalog)
    pred = tmp_path / "predictions" / "xquad" / "test-en.json"
    for content in ('{"q": 3}', '{"q": ["x"]}', "[]", "{oops", '"text"'):
        pred.write_text(content)
        code, _, err = cli("score", "--predictions", str(tmp_path / "predictions"),
                           "--labels", str(tmp_path / "labels"))
        assert_one_line(code, err, "test-en.json")


def test_conventions():
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("sweeper ")
    for sub in ("trial", "run", "report", "score", "tasks", "ls", "resume"):
        code, out, _ = cli(sub, "--help")
        assert code == 0 and "default" in out, sub


# --- property-based fuzz -------------------------------------------------------------

KEYS = ["name", "model", "data", "targets", "eval_languages", "objective", "intermediate",
        "hyperparameters", "seeds", "search", "resources", "pool", "counts", "min", "max",
        "log", "sets", "draws", "language_mix", "choice", "uniform", "loguniform", "int",
        "lr", "batch_size", "sampling", "algorithm", "num_samples", "scheduler", "asha",
        "metric", "languages", "budget", "steps", "examples_cap", "xnli", "mnli", "colour"]
leaf = (st.none() | st.booleans() | st.integers(-5, 40) | st.floats(allow_nan=True)
        | st.sampled_from(["xnli", "mnli", "qqp", "tiny", "low_resource", "en", "grid",
                           "optuna", "", "../x", "inf", "1e-3"]))
values = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(KEYS), values, max_size=5))
def test_fuzzed_space_files_exit_0_or_2_without_traceback(tmp_path, changes):
    raw = {**SPACE, **changes}
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(raw))
    code, _, err = cli("validate", str(path))
    assert code in (0, 2), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err


SETTING_KEYS = ["lr", "seed", "batch_size", "sampling", "temperature", "eval_languages",
                "max_seq_len", "retrieval_layer", "precision", "device", "intermediate_steps",
                "warmup_ratio", "doc_stride", "target_epochs", "bogus", "targets"]
raw_values = st.sampled_from(["0", "-1", "1", "2", "1e-3", "inf", "nan", "abc", "", "[1, 2]",
                              "{a: 1}", "null", "en,sw", "xx", "cpu", "cuda", "bf16", "1.5",
                              "true", "9999999999999999999999"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sets=st.lists(st.tuples(st.sampled_from(SETTING_KEYS), raw_values), max_size=4),
       target=st.sampled_from(["xnli", "tatoeba", "xnlii", "mnli", "xnli,xnli", ""]))
def test_fuzzed_trial_arguments_exit_0_or_2_without_traceback(tmp_path, sets, target):
    args = ["trial", "--target", target, "--model", "tiny", "--out", str(tmp_path / "o"),
            "--check"]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    code, _, err = cli(*args)
    assert code in (0, 2), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
