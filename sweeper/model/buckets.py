"""Fixed length buckets: the few widths training batches are padded to.

Dynamic padding gives every batch its own width (its longest row, rounded up to 8): up
to 17 widths between 128 and 256 tokens, each a new attention kernel plan on a GPU and
each a new shape for a CUDA graph or a compiled layer. With buckets a batch is padded to
the smallest of a few fixed widths that holds it, so a stage meets those few shapes
only. The attention mask keeps the extra padding inert (dropout off, the numbers are
those of dynamic padding up to float rounding), at the cost of padded tokens computed
for nothing: the loop reports their share.

The setting (`length_buckets`, a runtime value in no key): `off` (dynamic padding),
`auto`, or widths `W1,W2,...`; unset, the device decides: `auto` on a GPU, where shapes
cost launches and plans, `off` on a CPU, where every padded token costs its full compute
time and a new shape costs nothing. `auto` widths are derived from the stage's example
lengths (every task of the stage pooled): their 25th, 50th and 75th percentiles and
their maximum, each rounded up to a multiple of 8, repeats dropped; at most 4 widths,
the last holding every example. A batch longer than every given width keeps its own
(dynamic) width. Pure module: no torch.
"""

from __future__ import annotations

from typing import Sequence

from sweeper.errors import ConfigError

PAD_MULTIPLE = 8
QUANTILES = (0.25, 0.5, 0.75)


def round_up(n: int) -> int:
    """`n` rounded up to a multiple of 8 (tensor cores' tile)."""
    return -(-int(n) // PAD_MULTIPLE) * PAD_MULTIPLE


def parse(asked: str | None) -> str | tuple[int, ...] | None:
    """The setting as `off`, `auto`, sorted widths, or None (the device decides); a
    ConfigError naming the setting for anything else."""
    if asked is None or str(asked).strip() in ("", "null", "None"):
        return None
    text = str(asked).strip().lower()
    if text in ("off", "auto"):
        return text
    try:
        widths = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        widths = []
    if not widths or widths[0] < 1:
        raise ConfigError(f"length_buckets '{asked}' is not 'auto', 'off' or widths "
                          "W1,W2,... (positive token counts)")
    return tuple(round_up(w) for w in widths)


def resolve(asked: str | None, device_type: str) -> str | tuple[int, ...]:
    """What a stage uses: the setting, or (unset) `auto` on a GPU and `off` elsewhere."""
    parsed = parse(asked)
    if parsed is None:
        return "auto" if device_type == "cuda" else "off"
    return parsed


def derive(lengths: Sequence[int]) -> tuple[int, ...]:
    """`auto` widths from example lengths: quartiles and maximum, rounded up to 8."""
    ordered = sorted(int(n) for n in lengths)
    if not ordered:
        return ()
    picks = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in QUANTILES]
    return tuple(sorted({round_up(n) for n in [*picks, ordered[-1]]}))


def widths_for(asked: str | tuple[int, ...], lengths: Sequence[int]) -> tuple[int, ...]:
    """The widths of a stage from its resolved setting (empty: dynamic padding)."""
    if asked == "off":
        return ()
    if asked == "auto":
        return derive(lengths)
    return tuple(asked)


def bucket(longest: int, widths: Sequence[int]) -> int:
    """The width a batch whose longest row has `longest` tokens is padded to."""
    dynamic = round_up(longest)
    return next((w for w in widths if w >= dynamic), dynamic)


def share(computed: int, real: int) -> float:
    """The padding share: padded tokens over all `computed` (0 when none were)."""
    return (computed - real) / computed if computed else 0.0
