"""No two labeler modules import each other, however indirectly (DEVELOPERS.md, "Layout").

The graph is read from the source with ``ast``: every ``import`` and ``from … import``
counts, at module level or inside a function or an ``if TYPE_CHECKING`` block, and so do
``__import__("…")`` and ``importlib.import_module("…")`` with a literal name. Importing
a module does not count as importing the packages above it (that is Python's doing).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in (ROOT / "labeler").rglob("*.py")}


def imported_names(path: Path, package: str) -> set[str]:
    """Dotted names ``path`` imports; ``from a import b`` yields ``a.b`` and ``a``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names.add(node.args[0].value)
    return names


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for imported in imported_names(path, package):
            # ``from pkg import sub`` is an edge to the module pkg.sub; ``from pkg import
            # func`` an edge to pkg itself.
            if imported in known and imported != name:
                targets.add(imported)
        # drop ``pkg`` when ``pkg.sub`` is what was meant
        graph[name] = {
            t
            for t in targets
            if not any(o.startswith(t + ".") for o in targets) or _binds_names_from(path, t)
        }
    return graph


def _binds_names_from(path: Path, package: str) -> bool:
    """Whether ``path`` imports something other than submodules from ``package``."""
    known = modules()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == package
            and any(f"{package}.{alias.name}" not in known for alias in node.names)
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == package for a in node.names):
            return True
    return False


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends at one module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_sees_a_cycle_and_a_clean_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_lazy_and_type_checking_imports():
    graph = import_graph()
    # labeler/cli/__init__.py imports its command modules inside a function
    assert "labeler.cli.worker" in graph["labeler.cli"]
    # the factory imports the rq backend only when it is configured
    assert "labeler.jobs.rq" in graph["labeler"]
    # a name given to __import__ counts
    assert "labeler.errors" in graph["labeler"]


def test_no_import_cycle_between_labeler_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
