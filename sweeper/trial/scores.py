"""A trial's metrics.json content, scored from its XTREME export by the scorer that
`sweeper score` uses (so the two can never disagree), with the caveat of a target whose
numbers differ in kind from XTREME's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeper.catalog import Catalog
from sweeper.scoring import xtreme
from sweeper.trial.resolved import ResolvedTrial


def score_trial(out: Path, settings: ResolvedTrial, catalog: Catalog) -> dict[str, Any]:
    """Both splits of every target: `dev` (what model selection may see) and `test` (what
    is reported), each per target (under its protocol), language and tier."""
    protocols = dict(settings.protocols)
    result: dict[str, Any] = {"model": settings.model, "data": settings.data,
                              "synthetic": settings.data == "sample", "protocol": protocols,
                              "intermediate": list(settings.tasks),
                              # retrieval target -> languages whose parallel text the set
                              # holds: those results are reported apart from zero-shot
                              "parallel_data_seen": {t: list(langs) for t, langs in
                                                     settings.parallel_seen.items()}}
    for split in xtreme.SPLITS:
        result[split] = _score_split(out, split, protocols, catalog)
    result["selection"] = selection_numbers(result, catalog)
    result["protocols"] = named_protocols(settings, result, catalog)
    return result


def named_protocols(settings: ResolvedTrial, result: dict[str, Any], catalog: Catalog
                    ) -> dict[str, Any]:
    """Every protocol the numbers depend on, in words: per target, its protocol and
    where its selection numbers come from; the data source; and, under each evaluated
    target type's name, what its type says its numbers depend on (retrieval: how it
    embeds and mines)."""
    out: dict[str, Any] = {"data_source": settings.data, "targets": {}}
    for target in settings.targets:
        entry = {"protocol": settings.protocols[target],
                 "selection": result["selection"].get(target, {}).get("source", "none")}
        if settings.parallel_seen.get(target):
            entry["parallel_data_seen"] = list(settings.parallel_seen[target])
        out["targets"][target] = entry
    for kind in {catalog.task(t).type: catalog.task(t).kind for t in settings.targets}.values():
        note = kind.protocol(settings)
        if note:
            out[kind.name] = note
    return out


def selection_numbers(result: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Per target, what each selection protocol sees: the English dev score (strict
    zero-shot, `english_dev`) and the mean dev score over its languages (the oracle,
    `target_dev`), with the dev set they come from."""
    out: dict[str, Any] = {}
    for task, _, langs in xtreme.target_results(result, "dev"):
        spec = catalog.task(task)
        sel = spec.selection
        if sel is None:
            out[task] = {"source": "none: no dev set (no selection)"}
            continue
        source = f"{sel.task or task} {sel.split}" + (
            f" ({','.join(sel.languages)})" if sel.languages else "") + (
            f", without the articles of {sel.exclude}" if sel.exclude else "")
        scores = {lang: xtreme.main_metric(task, v) for lang, v in langs.items()}
        out[task] = {"source": source, "english_dev": scores.get("en"),
                     "target_dev": sum(scores.values()) / len(scores) if scores else None}
    return out


def _score_split(out: Path, split: str, protocols: dict[str, str], catalog: Catalog
                 ) -> dict[str, Any]:
    root = out / "xtreme"
    if not (root / "predictions").is_dir():
        return {"summary": {}, "xtreme": {"overall_scores": {}, "detailed_scores": {}}}
    overall, detailed, _ = xtreme.evaluate(root / "predictions", root / "labels", catalog,
                                           split=split, partial=True)
    by_lang = xtreme.per_language(detailed)
    result: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for task, langs in by_lang.items():
        result.setdefault(protocols[task], {})[task] = langs
        per_tier: dict[str, list[float]] = {}
        for lang, values in langs.items():
            per_tier.setdefault(catalog.tier(lang), []).append(xtreme.main_metric(task, values))
        summary[task] = {"avg_metric": detailed[task]["avg_metric"], "protocol": protocols[task],
                         "tiers": {t: sum(v) / len(v) for t, v in sorted(per_tier.items())}}
    result["summary"] = summary
    result["xtreme"] = {"overall_scores": overall, "detailed_scores": detailed}
    return result


def language_table(result: dict[str, Any], catalog: Catalog) -> str:
    """A markdown table of one trial: target, split, language, tier, score (an MLflow
    artifact)."""
    lines = ["| target | protocol | split | language | tier | score |",
             "|---|---|---|---|---|---|"]
    for split in xtreme.SPLITS:
        for task, protocol, langs in xtreme.target_results(result, split):
            for lang, values in langs.items():
                lines.append(f"| {task} | {protocol} | {split} | {lang} | {catalog.tier(lang)}"
                             f" | {xtreme.main_metric(task, values):.2f} |")
    return "\n".join(lines) + "\n"


def gains(result: dict[str, Any], baseline: dict[str, Any], catalog: Catalog
          ) -> dict[str, float]:
    """A trial's gain over its baseline (both metrics.json contents), per split, target,
    language, tier and target average, as MLflow metric names
    `gain.<split>.<target>.<lang>` / `.tier.<tier>` / `.avg`."""
    out: dict[str, float] = {}
    for split in xtreme.SPLITS:
        reference = {task: langs for task, _, langs in xtreme.target_results(baseline, split)}
        for task, _, langs in xtreme.target_results(result, split):
            per_lang = {lang: xtreme.main_metric(task, v)
                        - xtreme.main_metric(task, reference[task][lang])
                        for lang, v in langs.items() if lang in reference.get(task, {})}
            if not per_lang:
                continue
            for lang, g in per_lang.items():
                out[f"gain.{split}.{task}.{lang}"] = g
            out[f"gain.{split}.{task}.avg"] = sum(per_lang.values()) / len(per_lang)
            tiers: dict[str, list[float]] = {}
            for lang, g in per_lang.items():
                tiers.setdefault(catalog.tier(lang), []).append(g)
            for tier, values in tiers.items():
                out[f"gain.{split}.{task}.tier.{tier}"] = sum(values) / len(values)
    return out


def not_comparable(training: dict[str, Any], catalog: Catalog) -> dict[str, str]:
    """Targets whose numbers differ in kind from XTREME's, and why (their type reads what
    their evaluators reported: BUCC mined over gold pairs only, say)."""
    out = {}
    for name, stage in training.items():
        infos = [info for langs in (stage.get("evaluation") or {}).values()
                 for info in langs.values()] if isinstance(stage, dict) else []
        why = catalog.task(name).kind.caveat(infos) if infos else ""
        if why:
            out[name] = why
    return out
