"""A run's params: every effective value of a resolved trial under its flat setting name
(per task or target where it differs by task), and what its intermediate set is made of.
The one recipe for trials and baselines alike. Pure module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sweeper.catalog import Catalog

if TYPE_CHECKING:  # pragma: no cover
    from sweeper.trial.resolved import ResolvedTrial


def mix_of(tasks: tuple[str, ...] | list[str], catalog: Catalog) -> str:
    """english / non_english / mixed from what a task set holds; none when empty."""
    if not tasks:
        return "none"
    non_en = sum(not catalog.task(t).is_english for t in tasks)
    return "english" if non_en == 0 else "non_english" if non_en == len(tasks) else "mixed"


def _requested_total(resolved: "ResolvedTrial") -> int | None:
    return resolved.requested["intermediate"].get("examples_total") if resolved.tasks else None


def budget_label(resolved: "ResolvedTrial") -> str:
    """The intermediate budget a trial ran under, as the results table's `budget`:
    'epochs=2, examples_total=12000, max_passes=3' (fixed total data), 'epochs=2,
    examples_cap=3000, ...' (fixed data per task), 'steps=20000, ...' (fixed compute)."""
    phase = resolved.intermediate
    if not resolved.tasks:
        return "(none)"
    parts = [f"steps={phase.steps}" if phase.steps is not None else f"epochs={phase.epochs:g}"]
    total = _requested_total(resolved)
    if total is not None:
        parts.append(f"examples_total={total}")
    elif phase.examples_cap is not None:
        parts.append(f"examples_cap={phase.examples_cap}")
    if phase.max_passes is not None:
        parts.append(f"max_passes={phase.max_passes:g}")
    return ", ".join(parts)


def run_params(resolved: "ResolvedTrial", catalog: Catalog) -> dict[str, Any]:
    """The run's params, trials and baselines alike: every effective value under its
    flat setting name (per task or target where it differs by task), and what the
    intermediate set is made of."""
    phase, opt = resolved.intermediate, resolved.training
    specs = [catalog.task(t) for t in resolved.tasks]
    langs = sorted({lang for t in specs for lang in t.languages})
    out: dict[str, Any] = {
        "model": resolved.model, "data": resolved.data, "seed": resolved.seed,
        "local_data": ",".join(f"{k}={v}" for k, v in resolved.local.items()) or "(none)",
        "tasks": ",".join(resolved.tasks) or "(none)", "task_count": len(resolved.tasks),
        "mix": mix_of(resolved.tasks, catalog),
        "non_english_count": sum(not t.is_english for t in specs),
        "translated_count": sum(t.is_translated for t in specs),
        "intermediate_languages": ",".join(langs) or "(none)",
        "intermediate_epochs": phase.epochs, "intermediate_steps": phase.steps,
        "sampling": phase.sampling, "temperature": phase.temperature,
        "examples_cap": phase.examples_cap, "max_passes": phase.max_passes,
        "examples_total": _requested_total(resolved), "budget": budget_label(resolved),
        **{f: getattr(opt, f) for f in ("lr", "batch_size", "weight_decay", "warmup_ratio",
                                         "max_train_examples", "precision")},
        "doc_stride": resolved.doc_stride, "targets": ",".join(resolved.targets),
        "eval_languages": ",".join(sorted({lang for langs in resolved.eval_languages.values()
                                           for lang in langs})),
        "max_eval_examples": resolved.max_eval_examples,
        "retrieval_layer": resolved.retrieval_layer,
        "retrieval_pooling": resolved.retrieval_pooling,
    }
    out.update({f"target_epochs.{t}": e for t, e in resolved.target_epochs.items()})
    out.update({f"target_batch_size.{t}": b for t, b in resolved.target_batch.items()})
    out.update({f"max_seq_len.{t}": n for t, n in resolved.max_length.items()})
    return {k: ("(none)" if v is None else v) for k, v in out.items()}
