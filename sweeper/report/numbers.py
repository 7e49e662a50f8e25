"""How a number reads in the report's text: signed to two decimals, beside its 95%
interval or the reason it has none; a count effect and a ranking's metric in one phrase.
Shared by report.md (sweeper.report.markdown) and the terminal summary
(sweeper.report.terminal)."""

from __future__ import annotations

from typing import Any


def num(value: float | None, sign: bool = True) -> str:
    """`value` to two decimals (signed unless `sign` is False), or "-" where there is none."""
    return "-" if value is None else (f"{value:+.2f}" if sign else f"{value:.2f}")


def ci(item: dict[str, Any], low: str = "low", high: str = "high") -> str:
    """The interval `item` carries under `low` and `high`, or "no interval"."""
    if item.get(low) is None or item.get(high) is None:
        return "no interval"
    return f"[{item[low]:+.2f}, {item[high]:+.2f}]"


def effect_text(e: dict[str, Any]) -> str:
    """'+1.20 [+0.40, +2.00] per log(1+k), adjusted for ...' or why there is none."""
    if e.get("estimate") is None:
        return f"no estimate: {e['note']}"
    text = f"{e['estimate']:+.2f} {ci(e)} per log(1+k)"
    if e["adjusted_for"]:
        text += f", adjusted for {', '.join(e['adjusted_for'])}"
    elif not e["held_fixed"]:
        text += ", unadjusted"
    if e.get("bootstrap"):
        text += f" (bootstrap check {ci(e['bootstrap'])})"
    return text + (f"; {e['note']}" if e.get("note") else "")


def metric_text(metric: dict[str, Any]) -> str:
    """A ranking's metric (Spearman, NDCG, ...) with its interval where it has one."""
    low, high, value = metric["low"], metric["high"], metric["estimate"]
    if value is None or value != value:  # NaN: no spread to correlate
        return "-"
    return f"{num(value)}" + (f" [{low:.2f}, {high:.2f}]" if low is not None
                              else "")

