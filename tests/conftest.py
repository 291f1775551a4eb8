"""Fixtures and pytest hooks only; what tests share besides fixtures lives in tests/helpers.py."""

from __future__ import annotations

import ast
import gc
from typing import Any

import pytest

from tapstack.graph import Graph
from tests.helpers import Synth, example_config, run_synth


def _parse_without_collector(*args: Any, **kwargs: Any) -> ast.AST:
    """``ast.parse`` with the cyclic collector paused: on CPython < 3.11.8 a collection inside the AST
    constructor can run code that builds another AST and corrupt the shared depth counter (gh-106905),
    which surfaces as a sporadic "SystemError: AST constructor recursion depth mismatch" in pytest's
    assertion rewriting."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _ast_parse(*args, **kwargs)
    finally:
        if was_enabled:
            gc.enable()


_ast_parse = ast.parse
ast.parse = _parse_without_collector  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    """The suite allocates millions of short-lived objects (synth, moto); collecting the young generation
    every 700 allocations re-walks them for nothing. What the imports built is frozen out of every pass."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@pytest.fixture(scope="session")
def foundation() -> Graph:
    return run_synth(example_config("foundation"))


@pytest.fixture(scope="session")
def platform() -> Graph:
    return run_synth(example_config("platform"))


@pytest.fixture
def synth() -> Synth:
    def make(**config: Any) -> Graph:
        return run_synth(config)

    return make
