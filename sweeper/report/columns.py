"""The results table's columns, documented (README, `sweeper results --help`). Pure:
no pandas, so the command line can show them instantly."""

from __future__ import annotations

COLUMNS: dict[str, str] = {
    "sweep_id": "the sweep the row comes from",
    "trial_id": "the trial (its run id); a baseline run is a trial with k = 0",
    "seed": "the trial's seed (gains of one seed share its baseline)",
    "tasks": "the intermediate tasks, comma-separated ('' for none)",
    "k": "the number of intermediate tasks",
    "mix": "english, non_english or mixed (from what the set holds); none for k = 0",
    "target": "the XTREME target",
    "language": "the evaluated language",
    "tier": "the language's resource tier (low, mid, high)",
    "split": "dev (what selection may see) or test (what is reported)",
    "score": "the target's main metric in that language (QA: (EM + F1) / 2), in points",
    "baseline_score": "the same number for the trial's baseline (same baseline key)",
    "gain": "score - baseline_score",
    "examples_seen": "intermediate examples drawn in all (0 for k = 0; empty if unknown)",
    "distinct_examples": "distinct intermediate examples they came from (empty if unknown)",
    "max_passes": "the most passes made over any one intermediate task",
    "budget": "the intermediate budget (epochs or steps, per-task cap or total, pass limit)",
    "protocol": "zero_shot, translate_train, in_language or parallel_data_seen",
    "status": "finished, stopped (by a scheduler), failed, or running",
}
OPTIONAL: dict[str, str] = {
    "role": "trial, or baseline (a run the sweep made to measure gains against)",
    "run_name": "the run's name in the tracking store",
    "chain": "chain designs: the chain the trial belongs to (empty otherwise)",
    "added": "chain designs: the task the trial's position adds",
    "arm": "budget arms: the arm's name",
    "comparable": "false where the number differs in kind from XTREME's (BUCC mined over "
                  "gold pairs only)",
    "data_source": "sample (synthetic), hub, or a local folder",
    "retrieval_protocol": "retrieval targets: pooling, layer and mining, in words",
    "model": "the encoder",
    "rung": "fidelity ladders: the rung the trial ran at ('' outside a ladder and for "
            "baselines, which belong to whichever rung shares their key)",
    "rung_level": "fidelity ladders: the rung's place, 0 the cheapest (empty outside one)",
    "rung_via": "fidelity ladders: how the set reached the rung: start (the first rung), "
                "promoted, audited (the seeded sample of passed-over sets) or reference "
                "(the set without tasks, sent up so that every rung has its own)",
}
STATUSES = ("finished", "stopped", "failed", "running")
PROTOCOLS = ("zero_shot", "translate_train", "in_language", "parallel_data_seen")
SPLITS = ("dev", "test")
NUMERIC = ("seed", "k", "score", "baseline_score", "gain", "examples_seen",
           "distinct_examples", "max_passes")
