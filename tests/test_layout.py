"""The package's shape: imports flow one way (no cycles), the leaves stay light, and
evaluation never reaches the training loop. Read from the source with `ast`, so every
import counts, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sweeper"
LEAVES = ("sweeper.catalog", "sweeper.sweep.spec", "sweeper.sweep.space", "sweeper.scoring",
          "sweeper.trial.settings", "sweeper.trial.keys", "sweeper.digest", "sweeper.errors")
HEAVY = ("torch", "ray", "mlflow", "transformers", "datasets")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module -> every module it imports (sweeper modules resolved to the file's module)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names
                             if f"{node.module}.{a.name}" in modules)
        graph[name] = {m for m in found if m in modules or not m.startswith("sweeper")}
    return graph


GRAPH = _imports()


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycles():
    for module in GRAPH:
        inner = {m for m in _reach(module) if m.startswith("sweeper")}
        # a package's __init__ may be passed through; a module must not reach itself
        assert module not in inner, f"{module} imports itself through {sorted(inner)[:8]}"


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_no_torch_ray_or_mlflow(leaf):
    for module in [m for m in GRAPH if m == leaf or m.startswith(leaf + ".")]:
        heavy = {m for m in _reach(module) if m.split(".")[0] in HEAVY}
        assert not heavy, f"{module} reaches {sorted(heavy)}"


def test_evaluation_does_not_import_the_training_loop():
    for module in ("sweeper.trial.stages.evaluate", "sweeper.trial.stages.inference"):
        assert "sweeper.model.train" not in _reach(module)
        assert "sweeper.trial.stages.fit" not in _reach(module)


def test_search_space_does_not_import_the_sample_generator():
    assert not {m for m in _reach("sweeper.sweep.space") if m.startswith("sweeper.data")}
