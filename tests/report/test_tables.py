"""Plain-text tables for the terminal, read back as printed: the catalog's rows and
filters, sweeps, a trial's languages, scores, the end-of-sweep summary, a data check, a
ranking."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sweeper.report import tables


def _printed(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_catalog_rows_are_filtered_by_role_type_language_and_licence(catalog):
    every = tables.task_rows(catalog)
    assert len(every) == len(catalog.tasks)
    targets = tables.task_rows(catalog, role="target")
    assert {r["name"] for r in targets} == {t.name for t in catalog.tasks.values()
                                            if t.is_target}
    qa = tables.task_rows(catalog, task_type="qa", languages=["sw"])
    assert qa and all(r["type"] == "qa" and "sw" in r["languages"] for r in qa)
    nc = tables.task_rows(catalog, licenses=["non-commercial"])
    assert nc and all(r["non_commercial"] for r in nc)
    custom = tables.task_rows(catalog, licenses=["custom"])
    assert custom and all(r["license"].startswith("custom:") for r in custom)
    assert {r["name"] for r in tables.task_rows(catalog, licenses=["mit"])} == {
        t.name for t in catalog.tasks.values() if t.license == "MIT"}


def test_the_catalog_prints_in_aligned_columns(catalog, capsys):
    rows = tables.task_rows(catalog, role="target")
    tables.print_tasks(rows)
    lines = _printed(capsys)
    assert lines[0].split() == ["name", "role", "type", "metric", "license", "source",
                                "protocol", "languages"] and len(lines) == len(rows) + 1
    column = lines[0].index("role")
    assert all(line[column - 2:column] == "  " for line in lines)  # aligned under the header
    xnli = next(line for line in lines if line.startswith("xnli "))
    assert xnli.endswith(",".join(catalog.task("xnli").languages))


def test_sweeps_and_an_empty_store(capsys):
    tables.print_sweeps([])
    assert _printed(capsys) == ["no sweeps in this store"]
    tables.print_sweeps([{"sweep": "alpha", "sweep_id": "ab12", "status": "FINISHED",
                          "started": 0, "trials": 3,
                          "by_status": {"FINISHED": 2, "FAILED": 1}}])
    header, row = _printed(capsys)
    assert header.split()[:4] == ["sweep", "sweep", "id", "status"]
    assert row.split()[:3] == ["alpha", "ab12", "FINISHED"]
    assert row.endswith("3  failed 1, finished 2")


def test_a_trial_s_languages_with_dev_beside(catalog, capsys):
    result = {"model": "tiny", "data": "sample", "synthetic": True, "intermediate": ["mnli"],
              "protocol": {"xnli": "zero_shot", "tatoeba": "zero_shot"},
              "test": {"zero_shot": {"xnli": {"en": {"accuracy": 70.0}, "sw": {"accuracy": 40.0}},
                                     "tatoeba": {"sw": {"accuracy": 20.0}}},
                       "summary": {"xnli": {"avg_metric": 55.0, "tiers": {"low": 40.0}},
                                   "tatoeba": {"avg_metric": 20.0}}},
              "dev": {"summary": {"xnli": {"avg_metric": 56.0}}}}
    tables.print_trial(result)
    lines = _printed(capsys)
    assert lines[0] == "model tiny  data sample  [SYNTHETIC sample data]  intermediate: mnli"
    assert "xnli (zero_shot)  test avg=55.0  low=40.0  dev=56.0" in lines
    assert "tatoeba (zero_shot)  test avg=20.0    dev=- (no selection split)" in lines
    assert f"  sw    {catalog.tier('sw'):<6}   40.0   accuracy=40.0" in lines


def test_scores_and_a_data_check(capsys):
    tables.print_scores({"classification": 41.234},
                        {"xnli": {"avg_accuracy": 40.0, "accuracy": {"en": 70.0, "sw": 10.0}}},
                        {"xnli": ["de"]})
    assert _printed(capsys) == ["- xnli: avg_accuracy=40.0", "    en=70.0 sw=10.0",
                                "    (no files for: de)", "classification: 41.23"]
    tables.print_data_check([
        {"task": "xnli", "id": "facebook/xnli", "config": "sw", "revision": "main",
         "problems": []},
        {"task": "mnli", "id": "nyu-mll/glue", "config": None, "revision": "abc",
         "problems": ["no split test"]}])
    ok, bad, total = _printed(capsys)
    assert ok.split() == ["xnli", "facebook/xnli", "[sw]", "ok"]
    assert bad.split() == ["mnli", "nyu-mll/glue", "@abc", "MISSING:", "no", "split", "test"]
    assert total == "2 entries checked, 1 with problems"


@pytest.mark.parametrize("unfinished, uri", [(0, "sqlite:////tmp/mlflow.db"),
                                             (2, "http://127.0.0.1:5000")])
def test_the_end_of_sweep_summary(capsys, unfinished, uri):
    tables.print_summary({
        "sweep": "alpha", "trials": 5, "finished": 3 - unfinished, "errored": 1,
        "unfinished": unfinished, "wall_seconds": 125.0, "trial_seconds": 250.0,
        "intermediate_trained": 2, "intermediate_from_cache": 1, "intermediate_configs": 2,
        "selection": "english_dev", "objective_metric": "score",
        "objective_languages": "all",
        "best": [{"objective": 41.5, "tasks": "mnli", "count": 1, "mix": "english", "seed": 0}],
        "errors": [{"tasks": "", "error": "out of memory"}], "tracking_uri": uri,
        "experiment_id": "7", "parent_run_id": "p1"})
    lines = _printed(capsys)
    assert lines[1] == f"Sweep alpha: 5 trials ({3 - unfinished} finished, 1 errored, " \
                       f"{unfinished} unfinished)"
    assert ("Interrupted: continue with `sweeper resume alpha`" in lines) == bool(unfinished)
    assert "Time: 2m05s wall, 4m10s summed over trials (2.0x)" in lines
    assert "Intermediate trainings: 2 run, 1 served from cache (2 distinct configurations)" \
        in lines
    assert "  1.  41.50  1 english: mnli  seed 0" in lines
    assert "  errored: (baseline): out of memory" in lines
    assert f"MLflow: {uri}  experiment alpha (id 7), parent run p1" in lines
    assert any(line.startswith("  view: mlflow ui") for line in lines) == uri.startswith("sql")


def test_a_ranking_with_its_parts_and_cost(capsys):
    ranking = SimpleNamespace(
        target="xnli", languages=["sw", "ur"], model="tiny", data="sample", notes=["n1"],
        method="language, type and embedding signals",
        seconds={"language": 0.5, "embedding": 1.25, "total": 2.0},
        rows=[{"rank": 1, "task": "mnli", "score": 1.5, "languages": ["en"],
               "signals": {"language": 0.25, "type": 1.0, "embedding": None},
               "parts": {"uriel": 0.5, "overlap": 0.125}}])
    tables.print_ranking(ranking)
    lines = _printed(capsys)
    assert lines[0] == "xnli: candidate intermediate tasks for sw, ur (model tiny, data sample)"
    assert lines[1].split() == ["rank", "task", "score", "language", "uriel", "overlap",
                                "type", "embedding", "languages"]
    assert lines[2].split() == ["1", "mnli", "+1.50", "0.250", "0.500", "0.125", "1.000", "-",
                                "en"]
    assert lines[3:] == ["note: n1", "ranked 1 tasks in 2.0 s (language 0.5 s, embedding "
                                     "1.2 s); language, type and embedding signals"]
