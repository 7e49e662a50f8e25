"""What a trial's or a baseline's run records, by one recipe for both: its tags (role,
sweep, keys, protocol per target, data and model), its params (every effective setting:
sweeper.trial.resolved.ResolvedTrial.params), its metrics and its artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeper import tasktypes, tracking
from sweeper.catalog import Catalog
from sweeper.digest import digest
from sweeper.search.restored import point
from sweeper.trial.keys import TrialKeys
from sweeper.trial.params import run_params
from sweeper.trial.resolved import ResolvedTrial

ARTIFACTS = ("trial_config.yaml", "metrics.json", "languages.md")


def trial_run_key(sweep_id: str, config: dict[str, Any]) -> str:
    """The key a trial's run is found again by: its sweep and its point (its flat
    parameters), not Tune's trial id. A trial that finished just before its driver was
    killed, while the state in the storage did not hold it yet, is run again by the
    resume under a new id: it logs into the run it already has (the same numbers), not
    into a second one."""
    return f"{sweep_id}:{digest(point(config), 16)}"


def run_tags(resolved: ResolvedTrial, *, role: str, sweep_id: str, sweep: str,
             keys: TrialKeys | None = None) -> dict[str, str]:
    """Tags of a trial's or baseline's run."""
    protocols = dict(resolved.protocols)
    tags = {tracking.ROLE_TAG: role, tracking.SWEEP_ID_TAG: sweep_id,
            tracking.SWEEP_NAME_TAG: sweep,
            "protocol": "zero_shot" if set(protocols.values()) <= {"zero_shot"}
            else "not_zero_shot",
            "data_source": resolved.data, "synthetic": str(resolved.data == "sample").lower(),
            "model": resolved.model, **{f"protocol.{t}": p for t, p in protocols.items()},
            **{f"parallel_data_seen.{t}": ",".join(langs)
               for t, langs in resolved.parallel_seen.items()}}
    if keys is not None:
        tags.update({tracking.INTERMEDIATE_KEY_TAG: keys.intermediate or "",
                     tracking.BASELINE_KEY_TAG: keys.baseline})
    return tags


def design_tags(params: dict[str, Any]) -> dict[str, str]:
    """Where a grid trial sits in its design: its chain and the task it adds (chain
    designs), its budget arm (budget arms), its fidelity rung and how its set reached it
    (ladders). What the report pairs trials by."""
    tags = {}
    if params.get("chain") is not None:
        tags.update({tracking.CHAIN_TAG: str(params["chain"]),
                     tracking.CHAIN_ADDED_TAG: str(params["added"])})
    if params.get("budget") is not None:
        tags[tracking.ARM_TAG] = str(params["budget"])
    if params.get("rung") is not None:
        tags.update({tracking.RUNG_TAG: str(params["rung"]),
                     tracking.RUNG_LEVEL_TAG: str(params.get("level", "")),
                     tracking.VIA_TAG: str(params.get("via", ""))})
    return tags


def log_params(tracker: tracking.Tracker, run_id: str, resolved: ResolvedTrial,
               catalog: Catalog) -> None:
    tracker.log_params(run_id, run_params(resolved, catalog))


def log_result(tracker: tracking.Tracker, run_id: str, result: dict[str, Any], out: Path,
               extra: dict[str, float] | None = None) -> None:
    """A finished run's scores (and `extra` metrics), caveats and files."""
    thresholds = {f"{split}.{target}.{lang}.threshold": info["threshold"]
                  for target, stage in result["training"].items() if isinstance(stage, dict)
                  for split, langs in stage.get("evaluation", {}).items()
                  for lang, info in langs.items() if "threshold" in info}
    tracker.log_metrics(run_id, {**tracking.trial_metrics(result), **thresholds,
                                 **(extra or {})})
    named = result.get("protocols", {})
    tags = {f"selection_source.{t}": v["selection"]
            for t, v in named.get("targets", {}).items()}
    tags.update({f"{name}_protocol": named[name] for name in tasktypes.names()
                 if named.get(name)})  # a target type's protocol note (trial.scores)
    tracker.set_tags(run_id, tags)
    caveats = result.get("not_comparable_with_xtreme", {})
    if caveats:
        tracker.set_tags(run_id, {f"not_comparable_with_xtreme.{t}": why
                                  for t, why in caveats.items()})
    for name in ARTIFACTS:
        tracker.log_artifacts(run_id, out / name)
    tracker.log_artifacts(run_id, out / "xtreme", "xtreme")
