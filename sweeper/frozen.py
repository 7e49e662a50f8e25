"""Read-only values for settings that must not change once resolved."""

from __future__ import annotations

from typing import Any


class Frozen(dict):
    """A read-only mapping that pickles and compares as a dict."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a resolved setting cannot change")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (Frozen, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: str(kv[0]))))


def freeze(value: Any) -> Any:
    """Lists become tuples and dicts Frozen, all the way down."""
    if isinstance(value, dict):
        return Frozen({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value
