"""The package's shape, read from source without importing it: no import cycles, argparse only under cli/."""

from __future__ import annotations

import ast
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import configurator

ROOT = Path(configurator.__file__).parent
# run as their own programs (boot.py, light_boot.py: `python -I` inside a host's namespaces), own command lines
OWN_PROGRAMS = {"configurator.sandbox.boot", "configurator.sandbox.light_boot"}


def modules(path: Path = ROOT, prefix: str = "configurator") -> Iterator[tuple[str, Path, bool]]:
    """Every module of the package: (dotted name, file, is a package), found on disk (nothing imported)."""
    yield prefix, path / "__init__.py", True
    for info in pkgutil.iter_modules([str(path)]):
        name = f"{prefix}.{info.name}"
        if info.ispkg:
            yield from modules(path / info.name, name)
        else:
            yield name, path / f"{info.name}.py", False


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def load_time_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports run when the module loads: not those in functions, nor under `if TYPE_CHECKING:`."""
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            todo += node.orelse if _type_checking(node) else node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, ast.With | ast.ClassDef):
            todo += node.body


def targets(name: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The package's modules that one import statement loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    base = name if is_package else name.rpartition(".")[0]
    for _ in range(max(0, node.level - 1)):
        base = base.rpartition(".")[0]
    source = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
    submodules = {f"{source}.{a.name}" for a in node.names} & known
    # `from pkg import submodule` needs only the submodule; any other name needs pkg's own code loaded
    needs_source = source in known and len(submodules) < len(node.names)
    return submodules | ({source} if needs_source else set())


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports when it loads."""
    found = list(modules())
    known = {name for name, _, _ in found}
    graph: dict[str, set[str]] = {}
    for name, path, is_package in found:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = set().union(*(targets(name, is_package, n, known) for n in load_time_imports(tree))) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that ends where it starts, or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_the_finder_sees_a_cycle_and_skips_function_and_type_checking_imports():
    def graph_of(sources: dict[str, str]) -> dict[str, set[str]]:
        known = set(sources)
        return {n: set().union(*(targets(n, False, i, known) for i in load_time_imports(ast.parse(s))))
                for n, s in sources.items()}

    cycle = {"p.a": "from p import b\n", "p.b": "import p.c\n", "p.c": "from p.a import x\n"}
    assert find_cycle(graph_of(cycle)) == ["p.a", "p.b", "p.c", "p.a"]
    lazy = {"p.a": "from p import b\n",
            "p.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import a\n"
                   "def f():\n    from p import a\n"}
    assert find_cycle(graph_of(lazy)) == []
    package = {"p": "from p.a import x\n", "p.a": "from p import b\n", "p.b": "from p import VERSION\n"}
    assert find_cycle(graph_of(package)) == ["p", "p.a", "p.b", "p"]


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50 and "configurator.engine.executor" in graph["configurator.cli.apply"]
    assert find_cycle(graph) == []


def test_argparse_only_under_cli():
    users = []
    for name, path, _ in modules():
        if name.startswith("configurator.cli.") or name in ("configurator.cli", *OWN_PROGRAMS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if "argparse" in imported:
            users.append(name)
    assert users == []
