"""Shared fixtures: synthesize the real program offline (recording mocks) with any configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tapstack.graph import Graph, Resource
from tapstack.graph import as_list as as_list  # the one "one or many" reader; tests import it from here
from tapstack.program import main as program
from tapstack.synth import synthesize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

Synth = Callable[..., Graph]


def example_config(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / name / "Pulumi.dev.yaml").read_text())["config"])


def run_synth(config: dict[str, Any]) -> Graph:
    """Synthesize with a migration token given the way `pulumi config set --secret` would."""
    values = {k if ":" in k else f"tapstack:{k}": v for k, v in config.items()}
    values.setdefault("tapstack:migrationToken", "synth-token-value-0123456789")
    return synthesize(program, values, secret_keys=["tapstack:migrationToken"])


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


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A policy document input, parsed: fails loudly if it is not concrete JSON."""
    raw = resource.inputs[key]
    assert isinstance(raw, str), f"{resource.name}.{key} is not a JSON string: {raw!r}"
    return json.loads(raw)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]
