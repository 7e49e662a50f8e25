"""The package's shape: imports flow one way (no cycles), the leaves load light, each
concern has one room (mlflow in one module, a task type in one module), and modules and
functions stay small. Read from the source with `ast`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sweeper"
LEAVES = ("sweeper.catalog", "sweeper.space", "sweeper.scoring", "sweeper.trial.fields",
          "sweeper.trial.groups", "sweeper.trial.settings", "sweeper.trial.reading",
          "sweeper.trial.resolve", "sweeper.trial.resolved", "sweeper.trial.keys",
          "sweeper.model.offline", "sweeper.model.optimisation", "sweeper.model.buckets",
          "sweeper.model.lever_settings", "sweeper.digest", "sweeper.errors",
          "sweeper.tasktypes", "sweeper.tracking")
HEAVY = ("torch", "ray", "mlflow", "transformers", "datasets")
# modules of a leaf that are heavy on purpose, and imported only when they are needed
HEAVY_ON_PURPOSE = {
    "sweeper.tracking.mlflow_store": "the MLflow store, opened only when a store is",
    "sweeper.tasktypes._mining": "retrieval arithmetic, when a retrieval target is evaluated",
}
MAX_MODULE_LINES = 250
MAX_FOLDER_SHARE = 0.15  # of the package's lines, in one folder
MAX_FUNCTION_LINES = 60
DECLARATIVE = {"sweeper.cli.parser.build_parser"}  # an argparse table, one line per option


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, top_only: bool) -> set[str]:
    """Modules imported at run time (TYPE_CHECKING blocks aside); `top_only`: at load,
    outside function bodies."""
    found: set[str] = set()
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if _type_checking(node):
            continue
        if top_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in MODULES)
        todo.extend(ast.iter_child_nodes(node))
    return {m for m in found if m in MODULES or not m.startswith("sweeper")}


def _graph(top_only: bool) -> dict[str, set[str]]:
    return {name: _imports(ast.parse(path.read_text()), top_only)
            for name, path in MODULES.items()}


GRAPH, LOAD = _graph(False), _graph(True)


def _reach(start: str, graph: dict[str, set[str]], packages: bool = False) -> set[str]:
    """Every module `start` reaches; `packages`: with the packages whose __init__ runs
    when a module of theirs is imported."""
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        nexts = set(graph.get(current, ()))
        if packages:
            nexts.add(current.rpartition(".")[0])
        for nxt in nexts:
            if nxt in graph or not nxt.startswith("sweeper"):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return seen


def test_no_import_cycles():
    for module in GRAPH:
        inner = {m for m in _reach(module, LOAD) if m.startswith("sweeper")}
        assert module not in inner, f"{module} imports itself at load through {sorted(inner)}"


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_load_no_torch_ray_or_mlflow(leaf):
    for module in [m for m in LOAD if m == leaf or m.startswith(leaf + ".")]:
        if module in HEAVY_ON_PURPOSE:
            continue
        heavy = {m for m in _reach(module, LOAD, packages=True) if m.split(".")[0] in HEAVY}
        assert not heavy, f"{module} loads {sorted(heavy)}"


def _in_a_fresh_process(code: str) -> None:
    """Run `code` in a new interpreter (nothing imported yet) and require it to pass."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_validating_a_space_loads_no_torch():
    _in_a_fresh_process(
        "import sys; from sweeper.cli import main; "
        "rc = main(['validate', 'search_spaces/quickstart.yaml']); "
        "heavy = [m for m in ('torch', 'ray', 'mlflow', 'transformers') if m in sys.modules]; "
        "assert rc == 0 and not heavy, heavy")


def test_the_drivers_facts_load_no_modeling_code():
    """A sweep's driver resolves its facts (tokenizer, model identity and shape) once and
    trains nothing: the encoder's modeling code (1.5 s at every start and resume of a
    driver) is imported by the trials that build one."""
    _in_a_fresh_process(
        "import sys; from sweeper.catalog import load_catalog; "
        "from sweeper.trial.environment import open_environment; "
        "from sweeper.trial.settings import TrialSettings; "
        "open_environment(TrialSettings.build(model='tiny'), load_catalog(), "
        "tasks=['xnli'], device='cpu'); "
        "loaded = [m for m in sys.modules if m.startswith('transformers.models.') "
        "and '.modeling_' in m and '.auto.' not in m]; assert not loaded, loaded")


# what a sweep asks never imports how Ray runs it, nor the tracking store; which trial
# runs next (the searchers) is handed to the runner and never imports it; tracking
# serves the runner and the report and imports neither; the report reads what the
# runner wrote through tracking, never the runner itself
NEVER = {"sweeper.space": ("sweeper.runner", "sweeper.tracking", "sweeper.report"),
         "sweeper.search": ("sweeper.runner", "sweeper.tracking", "sweeper.report"),
         "sweeper.tracking": ("sweeper.runner", "sweeper.space", "sweeper.report"),
         "sweeper.report": ("sweeper.runner",)}


# `from sweeper import yamlio` names the package; its own `results()` (which reads a
# report) is not what such an import uses
ROOMS = {name: {d for d in deps if d != "sweeper"} for name, deps in GRAPH.items()}


@pytest.mark.parametrize("room", sorted(NEVER))
def test_arrows_between_the_rooms_run_one_way(room):
    for module in [m for m in ROOMS if m == room or m.startswith(room + ".")]:
        bad = {m for m in _reach(module, ROOMS) if m.startswith(NEVER[room])}
        assert not bad, f"{module} reaches {sorted(bad)}"


def test_no_folder_holds_more_than_its_share_of_the_code():
    lines = {name: path.read_text().count("\n") for name, path in MODULES.items()}
    total = sum(lines.values())
    folders = {".".join(name.split(".")[:2]) for name, path in MODULES.items()
               if path.parent != PACKAGE}
    for folder in folders:
        share = sum(n for m, n in lines.items() if m == folder or m.startswith(folder + "."))
        assert share <= MAX_FOLDER_SHARE * total, f"{folder}: {share / total:.1%} of the code"


def test_only_the_mlflow_store_imports_mlflow():
    users = {m for m, deps in GRAPH.items() if any(d.split(".")[0] == "mlflow" for d in deps)}
    assert users == {"sweeper.tracking.mlflow_store"}


def test_evaluation_does_not_import_the_training_loop():
    evaluators = ["sweeper.trial.stages.evaluate", "sweeper.model.inference"] + \
        [m for m in MODULES if m.startswith("sweeper.tasktypes")]
    for module in evaluators:
        assert "sweeper.model.train" not in _reach(module, GRAPH), module
        assert "sweeper.trial.stages.fit" not in _reach(module, GRAPH), module


def test_task_types_see_the_trial_only_through_their_protocols():
    for module in [m for m in MODULES if m.startswith("sweeper.tasktypes")]:
        assert not {m for m in _reach(module, GRAPH)
                    if m.startswith(("sweeper.trial", "sweeper.sweep", "sweeper.data"))}, module


def _type_names_in(source: str, names: set[str]) -> list[str]:
    """`line: 'name'` for each string constant of `source` equal to one of `names`,
    docstrings (of the module, its classes and functions) aside."""
    tree = ast.parse(source)
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [f"{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in names and id(node) not in docs]


def test_the_type_name_scan_finds_a_name_in_code_but_not_in_a_docstring():
    source = 'def f(t):\n    """qa, say."""\n    return t.type == "qa" or "qa_x"\n'
    assert _type_names_in(source, {"qa"}) == ["3: 'qa'"]


def test_no_module_outside_the_task_types_names_a_type():
    """Facts about a type live on its TaskType; others ask `tasktypes.get(name).<fact>`,
    so a string equal to a type's name outside sweeper/tasktypes/ is a fact leaking."""
    from sweeper import tasktypes

    names = set(tasktypes.names())
    found = [f"{module}:{hit}" for module, path in sorted(MODULES.items())
             if not module.startswith("sweeper.tasktypes")
             for hit in _type_names_in(path.read_text(), names)]
    assert not found, "type names outside sweeper/tasktypes/: " + "; ".join(found)


def test_models_and_the_search_space_do_not_import_the_sample_generator():
    for module in ["sweeper.space.space"] + [m for m in MODULES if m.startswith("sweeper.model")]:
        assert not {m for m in _reach(module, GRAPH) if m.startswith("sweeper.data")}, module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module):
    source = MODULES[module].read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{module}: {source.count(chr(10))} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            name = f"{module}.{node.name}"
            assert length <= MAX_FUNCTION_LINES or name in DECLARATIVE, \
                f"{name}: {length} lines"
