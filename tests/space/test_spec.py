"""Search-space files and trial settings: every shipped file validates; bad ones fail clearly."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

from sweeper.errors import ConfigError
from sweeper.space.spec import load_spec, parse_spec

SPACES = sorted((ROOT / "search_spaces").glob("*.yaml"))
BASE = {"model": "tiny", "data": "sample", "targets": ["xnli"],
        "intermediate": {"pool": ["mnli", "qqp"], "counts": [0, 1]}}


@pytest.mark.parametrize("path", SPACES, ids=[p.stem for p in SPACES])
def test_every_shipped_space_validates(path, catalog):
    spec = load_spec(path, catalog)
    assert spec.targets and (spec.counts or spec.fixed_sets or spec.chains)
    for mix, counts in spec.counts.items():
        assert max(counts) <= len(spec.pool[mix])


def test_shipped_spaces_are_the_three_promised():
    assert {p.stem for p in SPACES} >= {"quickstart", "xstilts", "task_scaling"}


def _with(**changes):
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    for key, value in changes.items():
        node = raw
        *parents, last = key.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return raw


@pytest.mark.parametrize("changes, message", [
    ({"colour": "blue"}, "unknown key"),
    ({"targets": ["xnlii"]}, "unknown task 'xnlii'"),
    ({"targets": ["mnli"]}, "not a target"),
    ({"targets": []}, "targets: .*at least 1 item"),
    ({"eval_languages": ["klingon"]}, "unknown language"),
    ({"intermediate__pool": []}, "pool is empty"),
    ({"intermediate__counts": [0, 3]}, "larger than the mixed pool"),
    ({"intermediate__pool": ["xnli_de"]}, "break zero-shot"),
    ({"intermediate__language_mix": ["martian"]}, "language_mix"),
    ({"intermediate__shuffle": True}, "unknown key"),
    ({"hyperparameters": {"lr": {"loguniform": [1e-3, 1e-5]}}}, "not valid"),
    ({"hyperparameters": {"lr": {"normal": [0, 1]}}}, "unknown key 'hyperparameters.lr.normal'"),
    ({"hyperparameters": {"targets": ["xnli"]}}, "not a hyperparameter"),
    ({"hyperparameters": {"batch_size": 0}}, "batch_size must be >= 1"),
    ({"search": {"algorithm": "bayes"}}, "algorithm"),
    ({"search": {"num_samples": 0}}, "search.num_samples: .*greater than or equal to 1"),
    ({"objective": {"languages": "low_resource"}, "targets": ["pawsx"]}, "include none of"),
    ({"resources": {"tpu": 1}}, "unknown key"),
])
def test_bad_spaces_are_rejected(catalog, changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_spec(_with(**changes), catalog, "t")


def test_protocol_breaking_tasks_need_opt_in(catalog):
    spec = parse_spec(_with(intermediate__pool=["non_english"], intermediate__counts=[0, 2]),
                      catalog, "t")
    assert not any(catalog.task(t).breaks_zero_shot(["xnli"]) for t in spec.pool["mixed"])
    allowed = parse_spec(_with(intermediate__pool=["non_english"], intermediate__counts=[0, 2],
                               intermediate__allow_protocol_breaking=True), catalog, "t")
    assert "xnli_de" in allowed.pool["mixed"]


def test_log_grid_counts(catalog):
    spec = parse_spec(_with(intermediate__pool=["all"], intermediate__allow_protocol_breaking=True,
                            intermediate__counts={"min": 0, "max": 16, "log": True}), catalog, "t")
    assert spec.counts["mixed"] == [0, 1, 2, 4, 8, 16]


def test_malformed_yaml_file(tmp_path, catalog):
    path = tmp_path / "bad.yaml"
    path.write_text("targets: [xnli\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_spec(path, catalog)
    with pytest.raises(ConfigError, match="not found"):
        load_spec(tmp_path / "missing.yaml", catalog)
