"""The XTREME submission layout, scored as XTREME's evaluate.py does.

``<root>/<task>/test-<lang>.<ext>``, predictions and labels in two parallel folders:
tsv (one label per line; tags with a blank line between sentences; BUCC id pairs;
Tatoeba indices) and, for QA, json (predictions {id: text}, labels in SQuAD format).
How each file is written, read and scored is its task type's (sweeper.tasktypes).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

from sweeper.catalog import Catalog, TaskSpec
from sweeper.errors import DataError

SPLITS = ("test", "dev")  # file prefixes: XTREME's test files, and the selection (dev) files


def file_name(task: TaskSpec, lang: str, split: str = "test") -> str:
    """`<split>-<lang>.<ext>`: the task type's file type (json for QA, tsv for the others);
    split test or dev."""
    return f"{split}-{lang}.{task.tasktype.export}"


def split_languages(task: TaskSpec, split: str) -> tuple[str, ...]:
    """The languages a complete `split` of a target holds (dev: its selection source's)."""
    if split == "test":
        return task.languages
    if task.selection is None:
        return ()
    return task.selection.languages or task.languages


def task_groups(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """XTREME's categories (classification, tagging, qa, retrieval) from the catalog."""
    groups: dict[str, tuple[str, ...]] = {}
    for t in catalog.targets():
        if t.category:
            groups[t.category] = groups.get(t.category, ()) + (t.name,)
    return groups


def score_one(task: TaskSpec, lang: str, pred_path: Path, label_path: Path
              ) -> dict[str, float]:
    """The metrics of one task and language from its two files, by the task's type."""
    try:
        return task.tasktype.score(task, lang, pred_path, label_path)
    except UnicodeDecodeError:
        raise DataError(f"{pred_path} or {label_path} is not UTF-8 text") from None


def evaluate(pred_dir: str | Path, label_dir: str | Path, catalog: Catalog, *,
             split: str = "test", partial: bool = False
             ) -> tuple[dict[str, float], dict[str, dict], dict[str, list[str]]]:
    """(overall_scores, detailed_scores, missing languages) as XTREME's evaluate().

    detailed_scores[task] = {metric: {lang: value}, avg_<metric>: ..., avg_metric: ...};
    overall_scores holds `all_task` when every target is present and each group whose
    tasks all are. A target folder missing a language's files fails, as evaluate.py
    does, unless `partial`: then the languages present are scored, the rest listed, and
    no overall score is given (an average over a partial submission is not XTREME's).
    """
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' (test or dev)")
    pred_dir, label_dir = Path(pred_dir), Path(label_dir)
    for d in (pred_dir, label_dir):
        if not d.is_dir():
            raise DataError(f"not a directory: {d}")
    detailed: dict[str, dict] = {}
    missing: dict[str, list[str]] = {}
    order = [t.name for t in catalog.targets()]
    for task in order:
        spec = catalog.task(task)
        if not ((pred_dir / task).is_dir() and (label_dir / task).is_dir()):
            continue
        score: dict[str, Any] = defaultdict(dict)
        for lang in split_languages(spec, split):
            name = file_name(spec, lang, split)
            p, g = pred_dir / task / name, label_dir / task / name
            if not p.exists() and not g.exists():
                if not partial:
                    raise DataError(f"missing {split} file for {task} language '{lang}': "
                                    f"{p} (score a partial submission with --partial)")
                missing.setdefault(task, []).append(lang)
                continue
            for f in (p, g):
                if not f.exists():
                    raise DataError(f"missing file {f}")
            for metric, value in score_one(spec, lang, p, g).items():
                score[metric][lang] = value
        if not score:
            continue
        averages = {f"avg_{m}": sum(v.values()) / len(v) for m, v in score.items()}
        score.update(averages)
        if "avg_exact_match" in score:  # QA: (EM + F1) / 2
            score["avg_metric"] = (score["avg_exact_match"] + score["avg_f1"]) / 2
        elif "avg_f1" in score:
            score["avg_metric"] = score["avg_f1"]
        elif "avg_accuracy" in score:
            score["avg_metric"] = score["avg_accuracy"]
        detailed[task] = dict(score)
    overall: dict[str, float] = {}
    if missing:
        return overall, detailed, missing
    if set(order) == set(detailed):
        overall["all_task"] = sum(detailed[t]["avg_metric"] for t in order) / len(order)
    for group, tasks in task_groups(catalog).items():
        if all(t in detailed for t in tasks):
            overall[group] = sum(detailed[t]["avg_metric"] for t in tasks) / len(tasks)
    return overall, detailed, missing


def per_language(detailed: dict[str, dict]) -> dict[str, dict[str, dict[str, float]]]:
    """detailed_scores pivoted to {task: {lang: {metric: value}}} (metrics.json's shape)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for task, score in detailed.items():
        for metric, values in score.items():
            if isinstance(values, dict):
                for lang, v in values.items():
                    out.setdefault(task, {}).setdefault(lang, {})[metric] = v
    return out


def main_metric(task: str, values: dict[str, float]) -> float:
    """The one number per language XTREME averages: QA (EM+F1)/2, else F1 or accuracy."""
    if "exact_match" in values:
        return (values["exact_match"] + values["f1"]) / 2
    return values["f1"] if "f1" in values else values["accuracy"]


def target_results(result: dict[str, Any], split: str = "test"
                   ) -> Iterator[tuple[str, str, dict[str, dict[str, float]]]]:
    """(target, protocol, {lang: {metric: value}}) of one split (test or dev) of a trial's
    metrics.json content, where each target's languages sit under its protocol's key."""
    scored = result.get(split, {})
    for task, protocol in result["protocol"].items():
        yield task, protocol, scored.get(protocol, {}).get(task, {})
