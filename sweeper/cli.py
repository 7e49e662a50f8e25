"""The `sweeper` command: parses, calls one function, maps errors to exit codes.

Exit codes: 0 ok, 2 bad input (one line on stderr, no traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from sweeper.errors import SweeperError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable:
        COMMANDS[name] = fn
        return fn
    return register


def _csv(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _settings_help() -> str:
    from sweeper.trial.settings import SETTINGS, TrialSettings

    defaults = TrialSettings().flat()
    lines, group = ["settings for --set (by group; runtime settings never change a result):"], ""
    for name, s in SETTINGS.items():
        if s.group != group:
            group = s.group
            lines.append(f"  [{group}]")
        default = defaults[name]
        shown = ",".join(default) if isinstance(default, list) else default
        lines.append(f"    {name:<20} {s.doc} (default: {shown if shown not in ('', None) else '-'})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sweeper", description=(
        "Sweep which and how many intermediate tasks improve zero-shot cross-lingual "
        "transfer (XTREME), with Ray Tune and MLflow."))
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("trial", help="run one trial end to end", epilog=_settings_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--target", type=_csv, required=True, help="targets, comma-separated")
    t.add_argument("--intermediate", type=_csv, default=[], help="intermediate tasks (none: "
                   "the baseline)")
    t.add_argument("--data", default="sample", help="sample (synthetic, default), hub, or DIR")
    t.add_argument("--model", default="xlm-roberta-large", help="hub id, local path or tiny")
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a trial setting (repeatable; see below)")

    ts = sub.add_parser("tasks", help="list the task catalog")
    ts.add_argument("--json", action="store_true", help="machine-readable output")

    v = sub.add_parser("validate", help="check a search-space file against the catalog")
    v.add_argument("file")

    s = sub.add_parser("score", help="score XTREME prediction/label folders as evaluate.py "
                       "does (a missing language file is an error)")
    s.add_argument("--predictions", required=True, help="folder of <task>/test-<lang> files")
    s.add_argument("--labels", required=True, help="folder of the gold files, same layout")
    s.add_argument("--split", default="test", choices=["test", "dev"],
                   help="score the test-<lang> files (default) or a trial's dev-<lang> files")
    s.add_argument("--partial", action="store_true", help="score the languages present and "
                   "list the missing ones; no overall score is given")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("run", help="run a sweep (Ray Tune) described by a search-space file")
    r.add_argument("space", help="search-space YAML (see search_spaces/)")
    r.add_argument("--name", help="sweep name (default: the file's `name`)")
    r.add_argument("--storage", default="runs", help="where trials, checkpoints, the stage "
                   "cache and (by default) the MLflow store go (default: ./runs)")
    r.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI "
                   "or sqlite in --storage)")
    r.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT (default: start "
                   "Ray locally on 127.0.0.1)")
    r.add_argument("--cache", help="stage cache folder every node sees (default: in --storage)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a search-space key (dotted: search.num_samples=4)")

    rs = sub.add_parser("resume", help="continue an interrupted sweep")
    rs.add_argument("sweep", help="sweep name (under --storage) or its folder")
    rs.add_argument("--storage", default="runs")
    rs.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT")

    rp = sub.add_parser("report", help="gains, scaling curves and plots of a sweep (MLflow)")
    rp.add_argument("sweep", help="sweep name (MLflow experiment) or a run id")
    rp.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI, the sweep's own, "
                    "or sqlite in --storage")
    rp.add_argument("--storage", default="runs")
    rp.add_argument("--out", help="output folder (default: <storage>/<sweep>/report)")

    d = sub.add_parser("data", help="data utilities")
    dsub = d.add_subparsers(dest="data_command", required=True)
    e = dsub.add_parser("export", help="write tasks from a source to a local data directory")
    e.add_argument("--tasks", type=_csv, required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--source", default="hub", help="hub (default) or sample")
    e.add_argument("--languages", type=_csv, default=[], help="languages or groups (default all)")
    e.add_argument("--splits", type=_csv, default=["train", "validation", "test"])
    return p


@command("trial")
def _trial(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.trial.settings import TrialSettings, apply_overrides

    settings = TrialSettings.build(targets=args.target, intermediate=args.intermediate,
                                   model=args.model, data=args.data)
    settings = apply_overrides(settings, args.set).validate(load_catalog())  # before torch
    from sweeper.report.tables import print_trial
    from sweeper.trial.run import run_trial

    result = run_trial(settings, args.out)
    print_trial(result)
    print(f"wrote {Path(args.out).resolve() / 'metrics.json'}")
    return 0


@command("tasks")
def _tasks(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.report.tables import task_rows

    rows = task_rows(load_catalog())
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            src = r["source"] or "-"
            print(f"{r['name']:<18} {r['role']:<12} {r['type']:<20} {src:<36} "
                  f"{r['protocol'] or '':<28} {','.join(r['languages'])}")
    return 0


@command("validate")
def _validate(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.sweep.space import cost
    from sweeper.sweep.spec import load_spec

    spec = load_spec(args.file, load_catalog())
    c = cost(spec)
    print(f"{args.file}: ok ({spec.describe()}; {c['trials']} trials, {c['baselines']} "
          f"baselines, {c['intermediate_trainings']} intermediate trainings)")
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
    from sweeper.sweep.tune import run_sweep

    summary = run_sweep(args.space, name=args.name, storage=args.storage,
                        tracking_uri=args.tracking_uri, address=args.address,
                        overrides=args.set, cache=args.cache)
    print_summary(summary)
    return _sweep_exit(summary)


def _sweep_exit(summary: dict) -> int:
    """130: interrupted (resume it); 1: some trials failed for good; 0: all finished."""
    return 130 if summary["unfinished"] else 1 if summary["errored"] else 0


@command("resume")
def _resume(args: argparse.Namespace) -> int:
    from sweeper.report.tables import print_summary
    from sweeper.sweep.tune import resume_sweep

    summary = resume_sweep(args.sweep, storage=args.storage, address=args.address)
    print_summary(summary)
    return _sweep_exit(summary)


@command("report")
def _report(args: argparse.Namespace) -> int:
    from sweeper.report.render import run_report

    run_report(args.sweep, tracking_uri=args.tracking_uri, out=args.out, storage=args.storage)
    return 0


@command("data")
def _data(args: argparse.Namespace) -> int:
    from sweeper.catalog import load_catalog
    from sweeper.data.export import export

    catalog = load_catalog()
    written = export(catalog, args.tasks, out=args.out, source=args.source,
                     languages=args.languages, splits=args.splits)
    print(f"wrote {written} files under {Path(args.out).resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sweeper` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SweeperError as exc:
        print(f"sweeper: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sweeper: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
