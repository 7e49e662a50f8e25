"""The XTREME submission layout: writing it, and scoring it as XTREME's evaluate.py does.

``<root>/<task>/test-<lang>.<ext>``, predictions and labels in two parallel folders:
tsv (one label per line; tags with a blank line between sentences; BUCC id pairs;
Tatoeba indices) and, for QA, json (predictions {id: text}, labels in SQuAD format).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator

from sweeper.catalog import Catalog, TaskSpec
from sweeper.errors import DataError
from sweeper.scoring import metrics

QA_METRICS = ("squad", "mlqa")  # catalog metrics scored from SQuAD-format JSON


SPLITS = ("test", "dev")  # file prefixes: XTREME's test files, and the selection (dev) files


def file_name(task: TaskSpec, lang: str, split: str = "test") -> str:
    """`<split>-<lang>.json` for QA targets, `.tsv` for the others (split: test or dev)."""
    return f"{split}-{lang}.{'json' if task.metric in QA_METRICS else 'tsv'}"


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


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """One item per line (labels, BUCC pairs, Tatoeba indices)."""
    _write_text(path, "".join(f"{x}\n" for x in lines))


def write_tags(path: Path, sentences: Iterable[list[str]]) -> None:
    """One tag per line, a blank line after each sentence."""
    _write_text(path, "".join("".join(f"{t}\n" for t in s) + "\n" for s in sentences))


def write_json(path: Path, obj: Any) -> None:
    _write_text(path, json.dumps(obj, ensure_ascii=False))


# --- readers (as evaluate.py's) --------------------------------------------------------

def read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def read_tags(path: Path) -> list[list[str]]:
    out, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                current.append(line)
            else:
                out.append(current)
                current = []
    if current:  # a last sentence without a closing blank line
        out.append(current)
    return out


def read_squad(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed JSON in {path}: {exc}") from None
    return data["data"] if isinstance(data, dict) and "data" in data else data


def score_one(task: TaskSpec, lang: str, pred_path: Path, label_path: Path
              ) -> dict[str, float]:
    """The metrics of one task and language from its two files, by the task's metric."""
    try:
        if task.metric in QA_METRICS:
            preds, gold = read_squad(pred_path), read_squad(label_path)
            if not isinstance(preds, dict) or not isinstance(gold, list) or \
                    not all(isinstance(v, str) for v in preds.values()):
                raise DataError(f"{pred_path}: QA predictions must be {{id: text}} and labels "
                                "SQuAD format")
            norm = metrics.mlqa_normalize if task.metric == "mlqa" else metrics.squad_normalize
            try:
                return metrics.qa_em_f1(gold, preds, lang, norm)
            except (ValueError, ZeroDivisionError):
                raise DataError(f"{label_path}: a question without answers, or no questions "
                                "at all") from None
        tagging = task.type == "token_classification"
        reader = read_tags if tagging else read_lines
        preds, gold = reader(pred_path), reader(label_path)
    except UnicodeDecodeError:
        raise DataError(f"{pred_path} or {label_path} is not UTF-8 text") from None
    except (KeyError, TypeError) as exc:
        raise DataError(f"malformed SQuAD-format labels in {label_path} ({exc})") from None
    if task.metric != "bucc_f1" and len(preds) != len(gold):
        raise DataError(f"{pred_path} has {len(preds)} examples but {label_path} has {len(gold)}")
    if not gold:
        raise DataError(f"{label_path} is empty")
    if tagging:
        bad = [i for i, (p, g) in enumerate(zip(preds, gold)) if len(p) != len(g)]
        if bad:
            raise DataError(f"{pred_path}: sentence {bad[0] + 1} has {len(preds[bad[0]])} tags, "
                            f"labels have {len(gold[bad[0]])}")
        return metrics.seqeval_f1(gold, preds)
    if task.metric == "bucc_f1":
        return metrics.bucc_f1(gold, preds)
    return metrics.accuracy(gold, preds)


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
        if spec.metric in QA_METRICS:
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
