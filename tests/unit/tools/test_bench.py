"""The benchmarks are run by hand, not by the suite: a name they import that moved out of TapStack must fail here,
not when someone next measures (bench/release.py imported the emulator's release target from its old place)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _tapstack_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every ``import tapstack...`` and ``from tapstack... import name`` in the file."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tapstack":
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "tapstack"]
    return found


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_tapstack_name_a_benchmark_imports_exists(path: Path) -> None:
    missing = []
    for module, name in _tapstack_imports(path):
        loaded = importlib.import_module(module)
        if name is not None and not hasattr(loaded, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} imports names TapStack no longer has: {missing}"


def test_the_benchmarks_import_tapstack_at_all() -> None:
    assert sum(len(_tapstack_imports(p)) for p in BENCH.glob("*.py")) >= 20
