"""Plain-text tables for the terminal: catalog rows, a trial's languages, scores."""

from __future__ import annotations

from typing import Any

from sweeper.catalog import Catalog, load_catalog
from sweeper.catalog.schema import TaskSpec
from sweeper.scoring.xtreme import main_metric, target_results


def license_matches(task: TaskSpec, wanted: list[str]) -> bool:
    """`--license`: an exact licence (case-insensitive), `custom` for every custom one,
    `non-commercial` for every task whose data may not be used commercially."""
    text = task.license.lower()
    for w in (x.lower() for x in wanted):
        if w == text or w == "custom" and text.startswith("custom:") or \
                w in ("non-commercial", "nc") and task.is_non_commercial:
            return True
    return False


def task_rows(catalog: Catalog, *, role: str | None = None, task_type: str | None = None,
              languages: list[str] | None = None,
              licenses: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per catalog task (filtered by role, type, languages, licence): `sweeper tasks`."""
    rows = []
    for t in catalog.tasks.values():
        if licenses and not license_matches(t, licenses):
            continue
        if role == "target" and not t.is_target or role == "intermediate" and \
                not t.is_intermediate:
            continue
        if task_type and t.type != task_type:
            continue
        if languages is not None and not set(languages) & set(t.languages):
            continue
        source = ", ".join(f"{h.id}" + (f" [{h.config}]" if h.config else "") for h in t.hub)
        rows.append({
            "name": t.name, "role": t.role, "type": t.type, "metric": t.metric,
            "languages": list(t.languages), "english": t.is_english,
            "source": source or "local files only", "train_from": t.train_from,
            "translation_of": t.translation_of, "card": t.card,
            "license": t.license, "non_commercial": t.is_non_commercial,
            "protocol": ("; ".join(f"{m.kind} for {','.join(m.targets)}" for m in t.protocol)
                         or None),
            "catalog_file": t.group,
        })
    return rows


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _print_aligned(header: list[str], table: list[list[str]]) -> None:
    """A header and rows in columns as wide as their widest cell (the last one left
    unpadded: it may be long)."""
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(header[:-1])]
    for row in [header] + table:
        print("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip())


def print_tasks(rows: list[dict[str, Any]]) -> None:
    """The catalog as an aligned table with a header."""
    header = ["name", "role", "type", "metric", "license", "source", "protocol", "languages"]
    table = [[r["name"], r["role"], r["type"], r["metric"],
              _short(r["license"], 32) + (" (NC)" if r["non_commercial"] and "-nc" not in
                                          r["license"].lower() else ""),
              (r["source"] or "-") + (f" (MT of {r['translation_of']})"
                                      if r.get("translation_of") else ""),
              r["protocol"] or "-", ",".join(r["languages"])] for r in rows]
    _print_aligned(header, table)


def print_sweeps(sweeps: list[dict[str, Any]]) -> None:
    """`sweeper ls`: one line per sweep, its status and its trials by status."""
    import datetime

    if not sweeps:
        print("no sweeps in this store")
        return
    print(f"{'sweep':<28} {'sweep id':<12} {'status':<9} {'started':<16} {'trials':>6}  "
          "by status")
    for s in sweeps:
        started = datetime.datetime.fromtimestamp((s["started"] or 0) / 1000)
        counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted(s["by_status"].items()))
        print(f"{s['sweep']:<28} {s['sweep_id']:<12} {s['status']:<9} "
              f"{started:%Y-%m-%d %H:%M} {s['trials']:>6}  "
              f"{counts or '-'}")


def print_trial(result: dict[str, Any]) -> None:
    """Per-language table of a trial's TEST results, grouped by target, with the dev
    (selection) average beside each target."""
    catalog = load_catalog()
    tag = "  [SYNTHETIC sample data]" if result.get("synthetic") else ""
    print(f"model {result['model']}  data {result['data']}{tag}  "
          f"intermediate: {','.join(result['intermediate']) or '(none: baseline)'}")
    for task, protocol, langs in target_results(result, "test"):
        summary = result["test"]["summary"].get(task, {})
        dev = result["dev"]["summary"].get(task, {}).get("avg_metric")
        tiers = "  ".join(f"{t}={v:.1f}" for t, v in summary.get("tiers", {}).items())
        dev_text = f"dev={dev:.1f}" if dev is not None else "dev=- (no selection split)"
        print(f"\n{task} ({protocol})  test avg={summary.get('avg_metric', float('nan')):.1f}"
              f"  {tiers}  {dev_text}")
        print(f"  {'lang':<6}{'tier':<6}{'score':>7}   metrics")
        for lang, values in langs.items():
            detail = " ".join(f"{k}={v:.1f}" for k, v in values.items())
            print(f"  {lang:<6}{catalog.tier(lang):<6}{main_metric(task, values):>7.1f}   {detail}")


def print_scores(overall: dict[str, float], detailed: dict[str, dict],
                 missing: dict[str, list[str]]) -> None:
    """`sweeper score`'s table: per task averages, languages, overall."""
    for task, score in detailed.items():
        avgs = ", ".join(f"{k}={v:.1f}" for k, v in score.items() if k.startswith("avg"))
        print(f"- {task}: {avgs}")
        first = next(v for v in score.values() if isinstance(v, dict))
        print("    " + " ".join(f"{lang}={v:.1f}" for lang, v in first.items()))
        if task in missing:
            print(f"    (no files for: {', '.join(missing[task])})")
    for name, value in overall.items():
        print(f"{name}: {value:.2f}")


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def print_summary(summary: dict[str, Any]) -> None:
    """The end-of-sweep summary: trials, cache use, time, best trials, where to look."""
    wall, summed = summary["wall_seconds"], summary["trial_seconds"]
    print(f"\nSweep {summary['sweep']}: {summary['trials']} trials ({summary['finished']} "
          f"finished, {summary['errored']} errored, {summary['unfinished']} unfinished)")
    if summary.get("interrupted") or summary["unfinished"]:
        print(f"Interrupted: continue with `sweeper resume {summary['sweep']}`")
    print(f"Time: {_duration(wall)} wall, {_duration(summed)} summed over trials "
          f"({summed / wall if wall else 0:.1f}x)")
    print(f"Intermediate trainings: {summary['intermediate_trained']} run, "
          f"{summary['intermediate_from_cache']} served from cache "
          f"({summary['intermediate_configs']} distinct configurations)")
    where = ("English dev (selection: english_dev, strict zero-shot)"
             if summary.get("selection", "english_dev") == "english_dev" else
             f"dev in {summary['objective_languages']} languages (selection: target_dev, "
             "the oracle)")
    print(f"Best trials (objective: mean {summary.get('objective_metric', 'score')} on "
          f"{where}; the other protocol and the test numbers are in the report):")
    for i, row in enumerate(summary["best"], 1):
        tasks = row.get("tasks") or "(baseline)"
        rung = f"  rung {row['rung']}" if row.get("rung") else ""
        print(f"  {i}. {row['objective']:6.2f}  {row.get('count', 0)} {row.get('mix', '')}: "
              f"{tasks}  seed {row.get('seed')}{rung}")
    for err in summary["errors"]:
        print(f"  errored: {err['tasks'] or '(baseline)'}: {err['error']}")
    uri = summary["tracking_uri"]
    print(f"MLflow: {uri}  experiment {summary['sweep']} (id {summary['experiment_id']}), "
          f"parent run {summary['parent_run_id']}")
    if uri.startswith("sqlite:"):
        print(f"  view: mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000\n"
              f"  then open http://127.0.0.1:5000/#/experiments/{summary['experiment_id']}/runs")


def print_data_check(rows: list[dict[str, Any]]) -> None:
    """`sweeper data check`: one line per (task, repo, config), then what is missing."""
    for r in rows:
        where = f"{r['id']}" + (f" [{r['config']}]" if r.get("config") else "") + \
            (f" @{r['revision']}" if r.get("revision") not in (None, "main") else "")
        status = "ok" if not r["problems"] else "MISSING: " + "; ".join(r["problems"])
        print(f"{r['task']:<20} {where:<58} {status}")
    bad = sum(bool(r["problems"]) for r in rows)
    print(f"{len(rows)} entries checked, {bad} with problems")


def print_ranking(ranking: Any) -> None:
    """`sweeper rank`: one line per candidate, the combined score with its parts beside."""
    print(f"{ranking.target}: candidate intermediate tasks for {', '.join(ranking.languages)} "
          f"(model {ranking.model}, data {ranking.data})")
    header = ["rank", "task", "score", "language", "uriel", "overlap", "type", "embedding",
              "languages"]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    table = [[str(r["rank"]), r["task"], f"{r['score']:+.2f}", fmt(r["signals"]["language"]),
              fmt(r["parts"]["uriel"]), fmt(r["parts"]["overlap"]), fmt(r["signals"]["type"]),
              fmt(r["signals"]["embedding"]), ",".join(r["languages"])] for r in ranking.rows]
    _print_aligned(header, table)
    for note in ranking.notes:
        print(f"note: {note}")
    cost = ", ".join(f"{k} {v:.1f} s" for k, v in ranking.seconds.items() if k != "total")
    print(f"ranked {len(ranking.rows)} tasks in {ranking.seconds['total']:.1f} s ({cost}); "
          f"{ranking.method}")
