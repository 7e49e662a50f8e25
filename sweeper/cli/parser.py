"""The `sweeper` command line: its parser (one subcommand per function of
`sweeper.cli.commands`), with every option's help and default."""

from __future__ import annotations

import argparse
import sys


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
        shown = ",".join(default) if isinstance(default, list) else \
            ",".join(f"{k}={v}" for k, v in default.items()) if isinstance(default, dict) \
            else default
        shown = shown if shown not in ("", None) else "-"
        lines.append(f"    {name:<20} {s.doc} (default: {shown})")
    return "\n".join(lines)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows every option's default and keeps the settings table's layout."""


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end like every other bad input: one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"sweeper: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def results_help() -> str:
    """The table's columns, for `sweeper results --help`."""
    from sweeper.report.columns import COLUMNS, OPTIONAL

    lines = ["Columns:"] + [f"  {k}: {v}" for k, v in COLUMNS.items()]
    lines += ["Also written (optional in a table given to `report --results`):"]
    return "\n".join(lines + [f"  {k}: {v}" for k, v in OPTIONAL.items()])


def build_parser() -> argparse.ArgumentParser:
    from sweeper import __version__

    p = _Parser(prog="sweeper", formatter_class=_Formatter, description=(
        "Sweep which and how many intermediate tasks improve zero-shot cross-lingual "
        "transfer (XTREME), with Ray Tune and MLflow."))
    p.add_argument("--version", action="version", version=f"sweeper {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    p.add_argument("--quiet", action="store_true", help="hide progress bars")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("trial", help="run one trial end to end", epilog=_settings_help(),
                       formatter_class=_Formatter)
    t.add_argument("--target", type=_csv, required=True, help="targets, comma-separated")
    t.add_argument("--intermediate", type=_csv, default=[], help="intermediate tasks (none: "
                   "the baseline)")
    t.add_argument("--data", default="sample", help="sample (synthetic), hub, or a local "
                   "data DIR")
    t.add_argument("--model", default="xlm-roberta-large", help="hub id, local path, or tiny "
                   "(offline: no hub needed)")
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--check", action="store_true", help="check the settings, model and data "
                   "and print the effective settings and keys; train nothing")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a trial setting (repeatable; see below)")

    ts = sub.add_parser("tasks", help="list the task catalog", formatter_class=_Formatter)
    ts.add_argument("--role", choices=["target", "intermediate"], help="only this role")
    ts.add_argument("--type", help="only this task type (e.g. qa, mlm)")
    ts.add_argument("--language", help="only tasks with this language (or group)")
    ts.add_argument("--license", type=_csv, default=[], help="only tasks under these licences "
                    "(SPDX ids, comma-separated; 'custom' for every custom licence, "
                    "'non-commercial' for every task whose data may not be used commercially)")
    ts.add_argument("--json", action="store_true", help="machine-readable output")

    rk = sub.add_parser("rank", help="rank candidate intermediate tasks for a target's "
                        "languages by cheap signals, before any training",
                        formatter_class=_Formatter)
    rk.add_argument("--target", required=True, help="target task (see `sweeper tasks`)")
    rk.add_argument("--languages", type=_csv, default=[], help="the target languages to "
                    "rank for: a tier (low, mid, high), group or codes (default: the "
                    "target's low-resource languages)")
    rk.add_argument("--pool", type=_csv, default=[], help="candidate tasks (default: every "
                    "intermediate task that keeps the target zero-shot)")
    rk.add_argument("--model", default="xlm-roberta-large", help="encoder for the "
                    "embeddings and tokens (hub id, local path, or tiny)")
    rk.add_argument("--data", default="sample", help="sample, hub, or a local data folder")
    rk.add_argument("--cache", help="cache folder (default: $SWEEPER_CACHE or ~/.cache/sweeper)")
    rk.add_argument("--json", action="store_true", help="machine-readable output")

    v = sub.add_parser("validate", help="check a search-space file against the catalog",
                       formatter_class=_Formatter)
    v.add_argument("file", help="search-space YAML")
    v.add_argument("--list", action="store_true", help="print the trials a grid expands to "
                   "(or the shape of an Optuna search)")

    ls = sub.add_parser("ls", help="list the sweeps of a tracking store",
                        formatter_class=_Formatter)
    ls.add_argument("--tracking-uri", help="MLflow tracking URI (default: "
                    "$MLFLOW_TRACKING_URI or sqlite in --storage)")
    ls.add_argument("--storage", default="runs", help="sweep storage folder")

    s = sub.add_parser("score", help="score XTREME prediction/label folders as evaluate.py "
                       "does (a missing language file is an error)", formatter_class=_Formatter)
    s.add_argument("--predictions", required=True, help="folder of <task>/test-<lang> files")
    s.add_argument("--labels", required=True, help="folder of the gold files, same layout")
    s.add_argument("--split", default="test", choices=["test", "dev"],
                   help="score the test-<lang> files (default) or a trial's dev-<lang> files")
    s.add_argument("--partial", action="store_true", help="score the languages present and "
                   "list the missing ones; no overall score is given")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("run", help="run a sweep (Ray Tune) described by a search-space file",
                       formatter_class=_Formatter)
    r.add_argument("space", help="search-space YAML (see search_spaces/)")
    r.add_argument("--name", help="sweep name (default: the file's `name`)")
    r.add_argument("--storage", default="runs", help="where trials, checkpoints, the stage "
                   "cache and (by default) the MLflow store go")
    r.add_argument("--tracking-uri", help="MLflow tracking URI (None: $MLFLOW_TRACKING_URI "
                   "or sqlite in --storage)")
    r.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT (None: start "
                   "Ray locally on 127.0.0.1)")
    r.add_argument("--cache", help="stage cache folder every node sees (None: in --storage)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a search-space key (dotted: search.num_samples=4)")
    r.add_argument("--new", action="store_true", help="start another sweep under a name "
                   "already used (its own sweep id and folder NAME-<id>)")

    rs = sub.add_parser("resume", help="continue an interrupted sweep",
                        formatter_class=_Formatter)
    rs.add_argument("sweep", help="sweep name (under --storage) or its folder")
    rs.add_argument("--storage", default="runs", help="sweep storage folder")
    rs.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT")
    rs.add_argument("--trust-storage", action="store_true",
                    help="resume although the storage's Ray Tune state (pickles: code) "
                    "differs from what the sweep's driver recorded; only for storage you "
                    "control")

    rp = sub.add_parser("report", help="the answer: count effects, curves, task values, "
                        "ranked tasks, of a sweep or of any results table",
                        formatter_class=_Formatter)
    rp.add_argument("sweep", nargs="?", help="sweep name (MLflow experiment) or a run id")
    rp.add_argument("--results", help="analyse this results table (.parquet or .csv, the "
                    "columns of `sweeper results`) instead of a sweep")
    rp.add_argument("--json", action="store_true", help="print the whole analysis as JSON")
    rp.add_argument("--selection", choices=["english_dev", "target_dev"], default="english_dev",
                    help="DEV numbers that rank tasks and pick trials (target_dev: the oracle)")
    rp.add_argument("--tracking-uri", help="None: $MLFLOW_TRACKING_URI, the sweep's own, "
                    "or sqlite in --storage")
    rp.add_argument("--storage", default="runs", help="sweep storage folder")
    rp.add_argument("--out", help="output folder (None: <storage>/<sweep>/report)")

    rt = sub.add_parser("results", help="write a sweep's results table (one row per trial x "
                        "target x language x split)", formatter_class=_Formatter,
                        description=results_help())
    rt.add_argument("sweep", help="sweep name (MLflow experiment) or a run id")
    rt.add_argument("--out", required=True, help="the table: FILE.parquet or FILE.csv")
    rt.add_argument("--tracking-uri", help="None: $MLFLOW_TRACKING_URI, the sweep's own, "
                    "or sqlite in --storage")
    rt.add_argument("--storage", default="runs", help="sweep storage folder")

    d = sub.add_parser("data", help="data utilities", formatter_class=_Formatter)
    dsub = d.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    e = dsub.add_parser("export", help="write tasks from a source to a local data directory",
                        formatter_class=_Formatter)
    e.add_argument("--tasks", type=_csv, required=True, help="task names, comma-separated")
    e.add_argument("--out", required=True, help="local data directory to write")
    e.add_argument("--source", default="hub", choices=["hub", "sample"], help="where from")
    e.add_argument("--languages", type=_csv, default=[], help="languages or groups "
                   "(empty: all)")
    e.add_argument("--splits", type=_csv, default=["train", "validation", "test"],
                   help="splits, comma-separated")
    im = dsub.add_parser("import", help="read an official release into the local data "
                         "layout (bucc2018: the BUCC 2018 files, mined over all sentences)",
                         formatter_class=_Formatter)
    im.add_argument("task", choices=["bucc2018"], help="the task whose release is read")
    im.add_argument("--from", dest="source", required=True, help="folder holding the "
                    "release (<lg>-en.{sample,training}.{<lg>,en,gold}, in subfolders too)")
    im.add_argument("--out", required=True, help="local data directory to write "
                    "(then: local: {bucc2018: OUT} in a space, or --data OUT)")
    im.add_argument("--languages", type=_csv, default=[], help="languages (empty: all of "
                    "the task's)")
    ck = dsub.add_parser("check", help="resolve every hub entry's id, config, splits and "
                         "columns from hub metadata, without downloading data (needs the "
                         "hub)", formatter_class=_Formatter)
    ck.add_argument("--tasks", type=_csv, default=[], help="task names (empty: every task "
                    "with a hub source)")
    ck.add_argument("--languages", type=_csv, default=[], help="languages or groups "
                    "(empty: every language of each task)")
    ck.add_argument("--json", action="store_true", help="machine-readable output")
    return p
