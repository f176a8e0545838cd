"""The package's shape holds: imports between packages go one way (no cycle, not even through an
import inside a function), the kernel imports no domain, and no module outgrows one job."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import adunion

ROOT = Path(adunion.__file__).parent
MAX_LINES = 500


def _unit(module: str) -> str:
    """The package (or top-level module) a dotted ``adunion.…`` name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path) -> Iterator[str]:
    """Every ``adunion`` module the file imports, wherever the import statement is."""
    package = ".".join(("adunion", *path.relative_to(ROOT).parent.parts))
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("adunion."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module == "adunion":  # a module of the package's, or a name of its __init__
                yield from (
                    f"adunion.{a.name}"
                    for a in node.names
                    if (ROOT / f"{a.name}.py").exists() or (ROOT / a.name).is_dir()
                )
            elif module.startswith("adunion."):
                yield module


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.relative_to(ROOT).parts:
            continue  # Alembic scripts: run by the migrations driver, imported by nothing
        relative = path.relative_to(ROOT)
        unit = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        edges = graph.setdefault(unit, set())
        edges.update(_unit(m) for m in _imports(path) if _unit(m) != unit)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (its nodes, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_packages_import_one_way() -> None:
    cycle = find_cycle(package_graph())
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_kernel_and_the_kits_import_no_domain() -> None:
    graph = package_graph()
    assert graph["kernel"] <= {"config"}
    assert graph["web"] <= {"kernel", "config"}
    assert graph["http"] <= {"kernel", "config", "context", "web"}


def test_no_module_is_over_the_size_of_one_job() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in ROOT.rglob("*.py")
    }
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert too_long == {}
