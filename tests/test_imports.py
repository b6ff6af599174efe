"""The package imports one way: no module imports itself back through a loop, in
the engine (``glassgrad``) or in the models built on it (``glassgrad.models``).

Imports are read from the source with ``ast``, including the ones inside functions
(a lazy import still ties two modules together), and resolved to the package's own
modules; the test fails with the loop it found.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import glassgrad
import glassgrad.models

#: The folders the package is installed from, by package name (pyproject.toml maps them).
TREES = {"glassgrad": Path(glassgrad.__file__).parent, "glassgrad.models": Path(glassgrad.models.__file__).parent}
MODELS = "glassgrad.models"


def module_name(path: Path, package: str, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))


def imported_modules(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package's modules that the file at ``path`` (module ``name``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(filter(None, (base, node.module)))
            for alias in node.names:  # `from pkg import mod` imports a module, `from mod import f` a name
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    return (found & modules) - {name}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p, package, root): p for package, root in TREES.items() for p in root.rglob("*.py")}
    return {name: imported_modules(path, name, set(files)) for name, path in files.items()}


def find_loop(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop (its modules, the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = "open"
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = "open"
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_loop_finder_finds_a_loop_hidden_in_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_loop(graph) == ["a", "b", "c", "a"]
    assert find_loop({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_relative_and_absolute_imports_resolve_to_the_package_modules():
    graph = import_graph()
    assert f"{MODELS}.commands.options" in graph[f"{MODELS}.commands.train"]
    assert f"{MODELS}.train" in graph[f"{MODELS}.commands.train"]
    assert f"{MODELS}.commands" in graph[f"{MODELS}.cli"]


def test_the_engine_reads_its_strategies_one_way():
    graph = import_graph()
    assert "glassgrad.testing.opinfo" in graph["glassgrad.testing.strategies"]
    assert "glassgrad.testing.strategies" not in graph["glassgrad.testing.opinfo"]
    assert not any(
        m.startswith("glassgrad.models")
        for name in graph
        if not name.startswith("glassgrad.models")
        for m in graph[name]
    ), "the engine imports nothing from models"


def test_the_package_has_no_import_loop():
    assert find_loop(import_graph()) is None


def test_the_tracer_loads_on_first_use():
    script = (
        "import sys, glassgrad\n"
        "assert 'glassgrad.tracing' not in sys.modules\n"
        "from glassgrad import Compiled, TraceError, trace\n"
        "assert trace is sys.modules['glassgrad.tracing'].trace and issubclass(TraceError, glassgrad.GlassgradError)\n"
        "try:\n"
        "    glassgrad.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
