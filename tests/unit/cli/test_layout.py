"""The package's import graph: libraries never reach for the CLI, and no two modules import each other.

A cycle or a library importing the CLI is how a tool grows into a tower nobody can change one floor of;
these tests name the offending modules so the fix is obvious.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
PACKAGE = SRC / "tapstack"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """module -> the tapstack modules it imports (at any depth of the file, including function bodies)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = _resolve(module, path.name == "__init__.py", node)
            targets.update(n for n in names if n in files and n != module)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_package_init_edge(source: str, target: str) -> bool:
    """A package's ``__init__`` naming its own submodules is how a package exposes them, not a cycle."""
    return target.startswith(source + ".")


def test_no_library_module_imports_the_cli() -> None:
    graph = import_graph()
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if not module.startswith("tapstack.cli")
        for target in targets
        if target == "tapstack.cli" or target.startswith("tapstack.cli.")
    )
    assert offenders == []


def test_the_release_library_imports_nothing_from_the_emulator() -> None:
    """A release to AWS must not depend on moto: the emulator implements the release's target, not the reverse."""
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if module.startswith("tapstack.release")
        for target in targets
        if target.startswith("tapstack.emulator")
    )
    assert offenders == []


def test_libraries_import_neither_argparse_nor_rich() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        if module.startswith("tapstack.cli") or module.endswith(".__main__"):
            continue  # the CLI, and programs of their own (the instance agent's entry point), parse arguments
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{module} imports {n}" for n in names if n.split(".")[0] in ("argparse", "rich")]
    assert offenders == []


def test_the_import_graph_has_no_cycle() -> None:
    graph = {
        module: {t for t in targets if not _is_package_init_edge(module, t)}
        for module, targets in import_graph().items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_reports_a_two_module_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
