"""The commands: each parses nothing, calls one function of the package, prints its
result and returns the exit code (errors are mapped to codes by `sweeper.cli.main`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from sweeper.errors import SweeperError
from sweeper.paths import check_writable_dir

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable:
        COMMANDS[name] = fn
        return fn
    return register


@command("trial")
def _trial(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.trial.checks import check_settings
    from sweeper.trial.reading import apply_overrides
    from sweeper.trial.settings import TrialSettings

    settings = TrialSettings.build(targets=args.target, intermediate=args.intermediate,
                                   model=args.model, data=args.data)
    settings = check_settings(apply_overrides(settings, args.set), load_catalog())  # before torch
    check_writable_dir(args.out, "--out")
    from sweeper.runner.preflight import check_model

    check_model(settings.model)
    if args.check:
        from sweeper.trial.run import check_trial

        print(json.dumps(check_trial(settings, load_catalog()), indent=1))
        return 0
    from sweeper.report.tables import print_trial

    result = _staged_trial(settings, Path(args.out).resolve())
    print_trial(result)
    print(f"wrote {Path(args.out).resolve() / 'metrics.json'}")
    return 0


def _staged_trial(settings: Any, out: Path) -> dict:
    """A trial into a new --out runs in a hidden folder beside it, moved into place once
    it succeeded: a failed trial leaves nothing there. An --out holding an earlier run
    of the trial is continued in place (its finished stages are not run again)."""
    import shutil
    import uuid

    from sweeper.trial.run import run_trial

    if out.exists() and any(out.iterdir()):
        return run_trial(settings, out)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        result = run_trial(settings, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.replace(staging, out)  # over an empty --out, too
    return result


@command("tasks")
def _tasks(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.report.tables import print_tasks, task_rows

    catalog = load_catalog()
    rows = task_rows(catalog, role=args.role, task_type=args.type,
                     languages=catalog.expand_languages([args.language]) if args.language else None,
                     licenses=args.license)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_tasks(rows)
    return 0


@command("rank")
def _rank(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.rank.ranking import rank
    from sweeper.report.tables import print_ranking
    from sweeper.trial.settings import RuntimeSettings, cache_root

    cache = cache_root(RuntimeSettings(cache_dir=args.cache))
    ranking = rank(args.target, load_catalog(), languages=args.languages or None,
                   pool=args.pool or None, model=args.model, data=args.data, cache=cache)
    if args.json:
        print(json.dumps(ranking.to_json(), indent=1))
    else:
        print_ranking(ranking)
    return 0


@command("ls")
def _ls(args: argparse.Namespace) -> int:
    from sweeper.report.tables import print_sweeps
    from sweeper.tracking import list_sweeps, open_store, store_uri

    print_sweeps(list_sweeps(open_store(store_uri(args.tracking_uri, args.storage))))
    return 0


@command("validate")
def _validate(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.runner.preflight import (
        check_data,
        check_ladder_design,
        data_caveats,
        design_warnings,
    )
    from sweeper.space.space import cost, describe_space
    from sweeper.space.spec import load_spec

    catalog = load_catalog()
    spec = load_spec(args.file, catalog)
    check_data(spec, catalog)  # every task the space can draw is in its source
    check_ladder_design(spec)  # a ladder runs rung by rung over a grid
    c = cost(spec, catalog)
    if args.list:
        from sweeper.space.fidelity_cost import describe_ladder

        for line in describe_space(spec) + describe_ladder(spec, catalog):
            print(line)
    for line in data_caveats(spec, catalog) + design_warnings(spec, catalog):
        print(f"warning: {line}", file=sys.stderr)
    print(f"{args.file}: ok ({spec.describe()}; {c['trials']} trials, {c['baselines']} "
          f"baselines, {c['intermediate_trainings']} intermediate trainings, "
          f"{c['target_trainings']} target trainings)")
    return 0


@command("score")
def _score(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.report.tables import print_scores
    from sweeper.scoring.xtreme import evaluate

    overall, detailed, missing = evaluate(args.predictions, args.labels, load_catalog(),
                                          split=args.split, partial=args.partial)
    if not detailed:
        raise SweeperError(f"no XTREME task folders found in both {args.predictions} and "
                           f"{args.labels}")
    if args.json:
        print(json.dumps({"overall_scores": overall, "detailed_scores": detailed,
                          "missing_languages": missing}, indent=1))
    else:
        print_scores(overall, detailed, missing)
    return 0


@command("run")
def _run(args: argparse.Namespace) -> int:
    from sweeper.report.tables import print_summary
    from sweeper.runner.driver import run_sweep

    summary = run_sweep(args.space, name=args.name, storage=args.storage,
                        tracking_uri=args.tracking_uri, address=args.address,
                        overrides=args.set, cache=args.cache, new=args.new)
    print_summary(summary)
    return _sweep_exit(summary)


def _sweep_exit(summary: dict) -> int:
    """130: interrupted (resume it); 1: some trials failed for good; 0: all finished."""
    return 130 if summary.get("interrupted") or summary["unfinished"] else \
        1 if summary["errored"] else 0


@command("resume")
def _resume(args: argparse.Namespace) -> int:
    from sweeper.report.tables import print_summary
    from sweeper.runner.resume import resume_sweep

    summary = resume_sweep(args.sweep, storage=args.storage, address=args.address,
                           trust_storage=args.trust_storage)
    print_summary(summary)
    return _sweep_exit(summary)


@command("report")
def _report(args: argparse.Namespace) -> int:
    from sweeper.report.render import run_report

    run_report(args.sweep, tracking_uri=args.tracking_uri, out=args.out, storage=args.storage,
               results=args.results, as_json=args.json, selection=args.selection)
    return 0


@command("results")
def _results(args: argparse.Namespace) -> int:
    from sweeper.report.render import write_results

    write_results(args.sweep, args.out, tracking_uri=args.tracking_uri, storage=args.storage)
    return 0


@command("data")
def _data(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.data.export import export

    catalog = load_catalog()
    if args.data_command == "check":
        return _data_check(args, catalog)
    check_writable_dir(args.out, "--out")
    if args.data_command == "import":
        from sweeper.data.bucc import import_task

        paths = import_task(catalog, args.task, args.source, args.out, args.languages)
        print(f"wrote {len(paths)} files under {Path(args.out).resolve() / args.task}")
        return 0
    written = export(catalog, args.tasks, out=args.out, source=args.source,
                     languages=args.languages, splits=args.splits)
    print(f"wrote {written} files under {Path(args.out).resolve()}")
    return 0


def _data_check(args: argparse.Namespace, catalog) -> int:
    """`sweeper data check`: 0 when every entry resolves, 1 when some do not."""
    from sweeper.data.hubcheck import check_catalog
    from sweeper.report.tables import print_data_check

    rows = check_catalog(catalog, args.tasks, args.languages)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_data_check(rows)
    return 1 if any(r["problems"] for r in rows) else 0
