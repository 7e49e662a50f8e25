"""Task types: one module per type, found by name.

Every module of this package whose name does not start with `_` (and is not `base`)
defines `TYPE`, an object behind `sweeper.tasktypes.base.TaskType`, named as its module.
The catalog's allowed `type:` values are this registry's names; an unknown type fails
when the catalog loads. Adding a type is one new module here plus catalog YAML (README,
"Adding a task type"). The modules are looked up along this package's `__path__`: a
folder appended to it adds the types it holds (the tests add a toy type so); call
`registry.cache_clear()` after changing it.

Every fact about a type lives on its `TaskType`; other modules ask
`tasktypes.get(task.type).<fact>` and never compare type names.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from sweeper.errors import ConfigError
from sweeper.tasktypes.base import TaskType

__all__ = ["TaskType", "get", "names", "registry"]

REQUIRED = ("columns", "metrics", "family")  # facts a type must state: no default fits all


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, TaskType]:
    """name -> type object, for every type module of this package."""
    out: dict[str, TaskType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "TYPE", None)
        if not isinstance(kind, TaskType) or kind.name != info.name:
            raise RuntimeError(f"{module.__name__} must define TYPE, a TaskType named "
                               f"'{info.name}'")
        missing = [fact for fact in REQUIRED if not hasattr(kind, fact)]
        if missing:
            raise RuntimeError(f"{module.__name__}: task type '{kind.name}' does not say "
                               f"its {', '.join(missing)}")
        out[kind.name] = kind
    return out


def names() -> tuple[str, ...]:
    return tuple(registry())


def get(name: str) -> TaskType:
    """The type called `name`, or a one-line error listing the known ones."""
    try:
        return registry()[name]
    except KeyError:
        raise ConfigError(f"unknown task type '{name}' (known: {', '.join(names())})") from None
