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


def _bomb(levels: int = 7) -> str:
    lines = ["description:", "  a: &a [" + ",".join(['"x"'] * 10) + "]"]
    for prev, name in zip("abcdefgh", "bcdefgh"[:levels]):
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


_BASE = yaml.safe_dump(SPACE)
RAW_SPACE_CASES = [  # (file bytes, what the one line says)
    (_BASE.encode("utf-16"), "UTF-16 text; save it as UTF-8"),
    (_BASE.encode() + "description: caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    ((_BASE + "description: " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested more than"),
    ((_BASE + _bomb()).encode(), "aliases (*name) expand to"),
    ((_BASE + "targets: [xnli]\n").encode(), "duplicate key 'targets'"),
    ((_BASE + "seeds: 3\n").encode(), "[0, 1, 2] for that many seeds"),
    (_BASE.replace("counts:", "draws: 1000000000\n  counts:").encode(), "intermediate.draws"),
    (_BASE.replace("counts:", "draws: 5\n  counts:").encode(),
     "more than the 2 distinct sets of 1 tasks"),
    (b"targets: [xnli\n", "not valid YAML at line"),
]


@pytest.mark.parametrize("data, needle", RAW_SPACE_CASES)
def test_malformed_space_files_fail_validate_quickly(tmp_path, data, needle):
    path = tmp_path / "space.yaml"
    path.write_bytes(data)
    tick = time.perf_counter()
    code, _, err = cli("validate", str(path))
    assert_one_line(code, err, needle)
    assert time.perf_counter() - tick < 10


def test_set_values_are_read_as_strictly_as_files(tmp_path):
    code, _, err = cli("run", _space(tmp_path), "--storage", str(tmp_path / "runs"),
                       "--set", "hyperparameters={a: 1, a: 2}")
    assert_one_line(code, err, "--set hyperparameters", "duplicate key 'a'")
    assert not (tmp_path / "runs").exists()


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
        (["data", "export", "--tasks", "mnli", "--source", "sample", "--out", "/proc/x"],
         ["--out /proc/x cannot be written"]),
        (["run", space, "--storage", "/proc/x"], ["--storage /proc/x cannot be written"]),
        (["run", space, "--storage", storage, "--name", "../../escape"],
         ["--name", "must be letters"]),
        (["run", space, "--storage", storage, "--tracking-uri",
          f"sqlite:///{tmp_path}/corrupt.db"], ["corrupt.db is not a readable SQLite"]),
        (["ls", "--tracking-uri", f"sqlite:///{tmp_path}/corrupt.db"],
         ["corrupt.db is not a readable SQLite"]),
        (TRIAL + ["--data", str(tmp_path / "loop"), "--out", str(tmp_path / "o")],
         ["loop: cannot be resolved"]),
    ]
    (tmp_path / "corrupt.db").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for args, needles in cases:
        tick = time.perf_counter()
        code, _, err = cli(*args)
        assert_one_line(code, err, *needles)
        assert time.perf_counter() - tick < 20, args
    # nothing was made: no sweep folder, no MLflow store, so no RUNNING run either
    assert not (tmp_path / "runs").exists() and not (tmp_path / "o").exists()
    assert not (tmp_path.parent.parent / "escape").exists()


def test_malformed_qa_predictions_are_one_line(tmp_path, catalog):
    from scoring.test_xtreme import _build

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


# local data that a trial must refuse before training: (rows of mnli/en/train, needles)
ROW = {"premise": "a b", "hypothesis": "c d", "label": 0}
BAD_DATA = [
    ([ROW, {**ROW, "label": 7}], ["train.parquet", "column 'label', row 1",
                                  "label 7 is outside 0..2"]),
    ([ROW, {**ROW, "label": None}], ["column 'label', row 1: empty"]),
    ([{**ROW, "label": "0"}, {**ROW, "label": "maybe"}],
     ["column 'label', row 1: label 'maybe' is not a class index"]),
    ([ROW, {**ROW, "label": 0.5}], ["row 1: label 0.5 is not a whole class index"]),
    ([ROW, {**ROW, "premise": None}], ["column 'premise', row 1: empty"]),
    ([{"premise": "a", "label": 0}], ["column 'hypothesis' (mnli's text_b) is missing"]),
    ([], ["no rows"]),
]


@pytest.mark.parametrize("rows, needles", BAD_DATA)
def test_bad_local_data_is_refused_before_training(tmp_path, catalog, rows, needles):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sweeper.data.export import export

    data = tmp_path / "data"
    export(catalog, ["xnli"], out=data, source="sample", languages=["en", "sw"],
           splits=["validation", "test"])
    path = data / "mnli" / "en" / "train.parquet"
    path.parent.mkdir(parents=True)
    table = pa.Table.from_pylist(rows) if rows else pa.table(
        {"premise": pa.array([], pa.string()), "hypothesis": pa.array([], pa.string()),
         "label": pa.array([], pa.int64())})
    pq.write_table(table, path)
    out = tmp_path / "out"
    base = ["--target", "xnli", "--model", "tiny", "--data", str(data), "--set",
            "eval_languages=en,sw"]
    code, _, err = cli("trial", *base, "--out", str(out), "--check")  # no training at all
    assert_one_line(code, err, *needles)
    code, _, err = cli("trial", *base, "--out", str(out))
    assert_one_line(code, err, *needles)
    assert not out.exists()  # a failed trial leaves nothing in --out


def test_an_unknown_label_name_in_a_test_set_is_refused(tmp_path, catalog):
    """One unknown gold_label would otherwise shrink the Swahili test set silently."""
    import pyarrow.parquet as pq

    from sweeper.data.export import export

    data = tmp_path / "data"
    export(catalog, ["xnli", "mnli"], out=data, source="sample", languages=["en", "sw"],
           splits=["train", "validation", "test"])
    path = data / "xnli" / "sw" / "test.parquet"
    table = pq.read_table(path).to_pylist()
    table[3]["gold_label"] = "unsure"
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(table), path)
    code, _, err = cli("trial", "--target", "xnli", "--model", "tiny", "--data", str(data),
                       "--set", "eval_languages=en,sw", "--out", str(tmp_path / "o"), "--check")
    assert_one_line(code, err, "xnli/sw/test.parquet: column 'gold_label', row 3",
                    "'unsure' is not one of entailment, neutral, contradiction")


def test_a_zero_byte_parquet_file_is_malformed(tmp_path, catalog):
    data = tmp_path / "data"
    (data / "mnli" / "en").mkdir(parents=True)
    (data / "mnli" / "en" / "train.parquet").write_bytes(b"")
    code, _, err = cli("trial", "--target", "xnli", "--model", "tiny", "--data", str(data),
                       "--out", str(tmp_path / "o"), "--check")
    assert_one_line(code, err, "malformed data file", "train.parquet")


def test_a_trial_that_fails_while_training_leaves_nothing_in_out(tmp_path, monkeypatch):
    """The check passes; the failure comes later (a worker error while training)."""
    from sweeper.trial.stages import intermediate

    def broken(ctx):
        raise RuntimeError("the device fell over")

    monkeypatch.setattr(intermediate, "run", broken)
    out = tmp_path / "out"
    code, _, err = cli("trial", "--target", "xnli", "--intermediate", "mnli", "--model", "tiny",
                       "--set", "eval_languages=en", "--set", "max_train_examples=50",
                       "--out", str(out))
    assert code == 1 and "the device fell over" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial" in p.name]
