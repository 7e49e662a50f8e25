"""Fidelity ladders: task sets screened at cheap rungs, the promising ones confirmed at
full fidelity, and a seeded audit of the sets that were passed over.

A ladder is typed data (rungs from cheap to full; each rung's promotion rule; the
audit) with its rules: which sets a rung promotes on their dev objective, which
passed-over sets the audit sends up anyway (so that the rank agreement between rungs is
measured on an unbiased sample, not only on the winners), what a rung changes in a
trial's settings (the encoder, a share of the intermediate budget, the evaluation
languages, the target epochs: nothing else), and what each rung costs against running
every set at full fidelity. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sweeper.digest import seeded
from sweeper.errors import ConfigError
from sweeper.model.offline import OFFLINE
from sweeper.trial.settings import TrialSettings

# The only settings a rung may change (flat names, as `--set` spells them).
RUNG_SETTINGS = frozenset({"model", "intermediate_steps", "intermediate_epochs", "examples_cap",
                           "examples_total", "eval_languages", "target_epochs"})
# (hidden size, layers, feed-forward size) of the encoders a ladder can order by size;
# tiny and small are sweeper.model.encoders' offline shapes
SHAPES = {**{name: (s["hidden_size"], s["num_hidden_layers"], s["intermediate_size"])
             for name, s in OFFLINE.items()},
          "xlm-roberta-base": (768, 12, 3072), "FacebookAI/xlm-roberta-base": (768, 12, 3072),
          "xlm-roberta-large": (1024, 24, 4096), "FacebookAI/xlm-roberta-large": (1024, 24, 4096)}
EPS = 1e-9  # shares are decimals: 0.1 * 30 must give 3, not 4


def encoder_size(model: str) -> int | None:
    """Non-embedding parameters of a known encoder (what training compute scales with:
    about 6 x parameters x tokens), or None for one the table does not know."""
    if model not in SHAPES:
        return None
    hidden, layers, ffn = SHAPES[model]
    attention = 4 * hidden * hidden + 4 * hidden
    feed_forward = 2 * hidden * ffn + ffn + hidden
    return layers * (attention + feed_forward + 4 * hidden)  # + two layer norms


@dataclass(frozen=True)
class Promote:
    """Which sets go up: the best `top` share by the dev objective, or (`within_interval`)
    every set whose interval overlaps the best set's; then at least `min`, at most `max`."""

    top: float | None = None
    within_interval: bool = False
    min: int = 1
    max: int | None = None


@dataclass(frozen=True)
class Audit:
    """A seeded random `share` of the passed-over sets (at least `min`) also goes up."""

    share: float = 0.1
    min: int = 3


@dataclass(frozen=True)
class Rung:
    """One rung: what it runs every set it is given at, and how it promotes."""

    name: str
    model: str
    budget_share: float = 1.0  # of the intermediate phase's examples seen
    languages: tuple[str, ...] = ()  # evaluation languages; empty: the space's
    target_epochs: float | None = None  # None: the space's
    promote: Promote | None = None  # None on the last rung only


@dataclass(frozen=True)
class Ladder:
    """Rungs from cheap to full (the last is full fidelity) and the audit."""

    rungs: tuple[Rung, ...]
    audit: Audit = Audit()
    # rung 0, before any training: the sets the ranking (sweeper rank) predicts best go to
    # the first trained rung (with the audit's share of the others); None: every set does
    rank: Promote | None = None

    @property
    def full(self) -> Rung:
        return self.rungs[-1]


def _count(share: float, n: int) -> int:
    return math.ceil(share * n - EPS)


def _clamp(n: int, rule: Promote, available: int) -> int:
    return min(available, max(rule.min, min(n, rule.max if rule.max is not None else n)))


def promote_count(rule: Promote, n: int) -> int:
    """Sets promoted out of `n` under a `top` rule (under `within_interval`, the most)."""
    wanted = n if rule.within_interval else _count(rule.top or 1.0, n)
    return _clamp(wanted, rule, n)


def audit_count(rule: Audit, passed_over: int) -> int:
    """Passed-over sets the audit sends up: the share, at least `min`, at most all."""
    return min(passed_over, max(rule.min, _count(rule.share, passed_over)))


def promote(rule: Promote, scores: Mapping[str, float], mode: str = "max",
            intervals: Mapping[str, tuple[float, float]] | None = None) -> list[str]:
    """The sets a rung promotes, best first, from their dev objective (`mode`: max or
    min). Under `within_interval` a set without an interval counts as its point, and
    `min` fills up with the next best by the objective; ties are broken by name so the
    answer never depends on dict order."""
    if mode not in ("max", "min"):
        raise ConfigError(f"objective mode '{mode}': expected max or min")
    sign = 1.0 if mode == "max" else -1.0
    order = sorted(scores, key=lambda s: (-sign * scores[s], s))
    if not order:
        return []
    if not rule.within_interval:
        return order[:promote_count(rule, len(order))]
    spans = {s: sorted((intervals or {}).get(s, (scores[s], scores[s]))) for s in order}
    best = spans[order[0]]
    if mode == "max":  # overlaps the best's interval: its upper end reaches the best's lower
        inside = [s for s in order if spans[s][1] >= best[0]]
    else:
        inside = [s for s in order if spans[s][0] <= best[1]]
    chosen = inside[:rule.max] if rule.max is not None else inside
    fill = [s for s in order if s not in chosen][:max(0, rule.min - len(chosen))]
    return [s for s in order if s in chosen or s in fill]


def audit(rule: Audit, passed_over: Sequence[str], rung: str, seed: int = 0) -> list[str]:
    """The passed-over sets the seeded audit sends to the next rung anyway (sorted): the
    same sets for the same rung, seed and candidates, whatever their order."""
    pool = sorted(set(passed_over))
    rng = seeded("fidelity-audit", rung, seed, ",".join(pool))
    return sorted(rng.sample(pool, audit_count(rule, len(pool))))


def changes(rung: Rung, base: TrialSettings) -> dict[str, Any]:
    """The settings `rung` changes in `base` (flat names). The budget share scales the
    intermediate examples seen: the data caps where the space gives them (fewer distinct
    examples, the same passes), and the steps, or without caps or steps the epochs."""
    out: dict[str, Any] = {"model": rung.model}
    if rung.languages:
        out["eval_languages"] = list(rung.languages)
    if rung.target_epochs is not None:
        out["target_epochs"] = rung.target_epochs
    share, phase = rung.budget_share, base.intermediate
    if abs(share - 1.0) > EPS:
        caps = {"examples_cap": phase.examples_cap, "examples_total": phase.examples_total}
        out.update({k: max(1, round(v * share)) for k, v in caps.items() if v is not None})
        if phase.steps is not None:
            out["intermediate_steps"] = max(1, round(phase.steps * share))
        elif all(v is None for v in caps.values()):
            out["intermediate_epochs"] = phase.epochs * share
    return out


def at_rung(rung: Rung, base: TrialSettings) -> TrialSettings:
    """`base` (a trial's settings at the space's values) as `rung` runs it; a change to any
    setting outside RUNG_SETTINGS is refused."""
    updates = changes(rung, base)
    settings = base.replace(**updates)
    before, after = base.flat(), settings.flat()
    moved = sorted(k for k in after if after[k] != before[k] and k not in RUNG_SETTINGS)
    if moved:
        raise ConfigError(f"fidelity rung '{rung.name}' would change {', '.join(moved)}: a rung "
                          f"changes only {', '.join(sorted(RUNG_SETTINGS))}")
    return settings


def _larger(rung: Rung, nxt: Rung) -> str | None:
    """Why `rung` is not cheaper than the rung above it, or None."""
    size, next_size = encoder_size(rung.model), encoder_size(nxt.model)
    if rung.model != nxt.model:
        if size is None or next_size is None:
            unknown = rung.model if size is None else nxt.model
            return (f"cannot order encoder '{unknown}' by size (known: "
                    f"{', '.join(SHAPES)}): rungs that change the encoder use known ones")
        if size > next_size:
            return f"its encoder {rung.model} is larger than {nxt.model}"
    if rung.budget_share > nxt.budget_share + EPS:
        return f"its budget_share {rung.budget_share:g} is above {nxt.budget_share:g}"
    if (rung.target_epochs is not None and nxt.target_epochs is not None
            and rung.target_epochs > nxt.target_epochs + EPS):
        return f"its target_epochs {rung.target_epochs:g} are above {nxt.target_epochs:g}"
    if nxt.languages and (not rung.languages or set(rung.languages) - set(nxt.languages)):
        extra = sorted(set(rung.languages) - set(nxt.languages)) or ["every language"]
        return f"it evaluates {', '.join(extra)}, which '{nxt.name}' does not"
    if (rung.model, rung.budget_share, rung.languages, rung.target_epochs) == \
            (nxt.model, nxt.budget_share, nxt.languages, nxt.target_epochs):
        return "it runs exactly what the next rung runs"
    return None


def check_ladder(ladder: Ladder) -> None:
    """Rungs from cheap to full, each strictly cheaper than the next (encoder size, budget
    share, target epochs, evaluation languages), a promotion rule on every rung but the
    last: else one ConfigError naming the rung."""
    rungs = ladder.rungs
    if len(rungs) < 2:
        raise ConfigError("fidelity: a ladder needs two rungs or more (cheap, then full)")
    names = [r.name for r in rungs]
    if len(set(names)) != len(names):
        raise ConfigError(f"fidelity: rung names repeat: {names}")
    for rung, nxt in zip(rungs, rungs[1:]):
        if rung.promote is None:
            raise ConfigError(f"fidelity rung '{rung.name}': needs a promote rule "
                              "(top: share, or within_interval: true)")
        why = _larger(rung, nxt)
        if why:
            raise ConfigError(f"fidelity rung '{rung.name}' is not cheaper than "
                              f"'{nxt.name}': {why}")
    if ladder.full.promote is not None:
        raise ConfigError(f"fidelity rung '{ladder.full.name}': the last rung is full "
                          "fidelity and promotes nowhere (drop its promote)")
