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


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """pytest's unraisable-exception plugin ends every session with full collections, to report finalizers that
    fail on objects in cycles; after a session's deploys and moto backends each worker's heap took 1.7 s to
    walk (two passes, 1.1 s + 0.6 s measured), at the end of every worker. Freezing it first leaves them
    nothing to walk. What is lost: a finalizer failing on a cycle still uncollected at the very end goes
    unreported; failures during the session are still reported per test, and the collector keeps running
    during the session."""
    gc.freeze()


SHARED_DEPLOYMENT = "tests/integration/"
"""Tests that read the one deployment a test process shares (``deployed``): one work unit under ``-n``. Tests that
deploy a stack of their own live in tests/deploys, so that this unit holds only what must run together."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Work units for ``pytest -n N``: each test file runs whole on one worker, so its module fixtures (an
    emulator, a deployment) are built once; and tests/integration runs as one unit, because its tests share a
    session's deployment which a test resetting moto (``mock_aws``) on the same worker would wipe in between."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_DEPLOYMENT if path.startswith(SHARED_DEPLOYMENT) else path

    return ByFile(config, log)


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
