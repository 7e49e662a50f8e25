"""YAML as the project reads it: strict, bounded, and with errors that name the file.

Search spaces, catalog files and `--set` values are read with `load`: UTF-8 text only
(UTF-16 or other bytes are named, not decoded into garbage), at most MAX_BYTES, nesting
at most MAX_DEPTH deep (PyYAML would recurse until Python gives up), no duplicate keys
(PyYAML keeps the last one silently), and aliases (`*name`) only while the values they
expand to stay under MAX_VALUES (an alias bomb expands a few lines into gigabytes).
Every problem is a ConfigError with one line naming the file and, where known, the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent

from sweeper.errors import ConfigError

MAX_BYTES = 4 << 20
MAX_DEPTH = 40
MAX_VALUES = 100_000  # values a file may hold once its aliases are expanded


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases or duplicate keys, and with bounded nesting."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = self._aliases = 0

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and self._aliases:
            size = _expanded_size(node, {})
            if size > MAX_VALUES:
                raise ConfigError(f"YAML aliases (*name) expand to {size:.3g} values, more "
                                  f"than {MAX_VALUES}: write the values out")
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            self._aliases += 1
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep, at line "
                                  f"{mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:  # the keys written here (merged ones may be overridden)
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise ConfigError(f"duplicate key '{key}' at line "
                                      f"{key_node.start_mark.line + 1}")
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor below says so
                pass
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: Any, memo: dict[int, float]) -> float:
    """How many values `node` holds once its aliases are expanded (each counted as a copy,
    as a consumer that walks the data sees them)."""
    if id(node) not in memo:
        memo[id(node)] = 1.0  # a node reached again while being counted: a cycle, once
        children: list[Any] = []
        if isinstance(node.value, list):
            for item in node.value:
                children += list(item) if isinstance(item, tuple) else [item]
        memo[id(node)] = 1.0 + sum(_expanded_size(c, memo) for c in children)
    return memo[id(node)]


def decode(data: bytes, where: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); anything else is a ConfigError."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{where}: UTF-16 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start})") from None


def loads(text: str, where: str) -> Any:
    """Parse YAML text read from `where` (a file, or a `--set` value)."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{where}: not valid YAML{at}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None


def load(path: str | Path) -> Any:
    """Read and parse a YAML file, with the checks above."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_BYTES >> 20} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return loads(decode(data, str(path)), str(path))
