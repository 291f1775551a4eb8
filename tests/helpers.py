"""What tests share besides fixtures: where the examples are, synthesizing a configuration, reading policies.

Imported by the tests and by conftest.py (which only holds fixtures and pytest hooks).
"""

from __future__ import annotations

import copy
import functools
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
import yaml
from moto import mock_aws

from tapstack.graph import Graph, Resource
from tapstack.graph import as_list as as_list  # the one "one or many" reader; tests import it from here
from tapstack.program import main as program
from tapstack.synth import synthesize

if TYPE_CHECKING:
    from tapstack.emulator.server import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

Synth = Callable[..., Graph]


def example_config(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / name / "Pulumi.dev.yaml").read_text())["config"])


_SYNTHESIZED: dict[str, Graph] = {}
"""Graphs by configuration: the program is deterministic, so each configuration is synthesized once per run."""


def run_synth(config: dict[str, Any], *, fresh: bool = False) -> Graph:
    """Synthesize with a migration token given the way `pulumi config set --secret` would.

    A configuration already synthesized in this run is served from memory, as a copy the test may change;
    ``fresh`` runs the program again and keeps nothing: for a test that watches or patches the program as it runs.
    """
    values = {k if ":" in k else f"tapstack:{k}": v for k, v in config.items()}
    values.setdefault("tapstack:migrationToken", "synth-token-value-0123456789")
    key = json.dumps(values, sort_keys=True)
    if fresh:
        return synthesize(program, values, secret_keys=["tapstack:migrationToken"])
    if key not in _SYNTHESIZED:
        _SYNTHESIZED[key] = synthesize(program, values, secret_keys=["tapstack:migrationToken"])
    return copy.deepcopy(_SYNTHESIZED[key])


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A policy document input, parsed: fails loudly if it is not concrete JSON."""
    raw = resource.inputs[key]
    assert isinstance(raw, str), f"{resource.name}.{key} is not a JSON string: {raw!r}"
    return json.loads(raw)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]


@functools.cache
def _models() -> Any:
    """One botocore loader for the test process: it keeps every service model it has parsed."""
    return botocore.loaders.create_loader()


def aws_session(**kwargs: Any) -> boto3.session.Session:
    """``boto3.session.Session(**kwargs)`` with its service models from the process's one loader: a test's first
    client of a service then costs milliseconds instead of parsing the model again (~0.1 s for EC2's)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _models())
    return boto3.session.Session(botocore_session=core, **kwargs)


@contextmanager
def mocked_aws() -> Iterator[None]:
    """moto's ``mock_aws``, with boto3's default session (which it resets on entry) on the shared models."""
    with mock_aws():
        boto3.DEFAULT_SESSION = aws_session()
        yield


@contextmanager
def emulator_environment(emulator: Emulator) -> Iterator[None]:
    """What a shell gets from `--keep`'s export lines, for the time of one CLI call."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        for key, value in emulator.environment().items():
            mp.setenv(key, value)
        yield


def up_local(emulator: Emulator, config: Path, outputs: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`tapstack up --local --json` of ``config`` into ``emulator``, as a shell holding `--keep`'s exports runs it:
    what it printed and the outputs file it wrote. A failed deploy fails the test with all the command said."""
    from tapstack.cli import main

    args = ["up", "--local", "--config", str(config), *extra, "--endpoint", emulator.url, "--outputs", str(outputs)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with emulator_environment(emulator), redirect_stdout(stdout), redirect_stderr(stderr):
        code = main([*args, "--json"])
    assert code == 0, f"tapstack up --local failed ({code}):\n{stdout.getvalue()}{stderr.getvalue()}"
    return json.loads(stdout.getvalue()), json.loads(outputs.read_text())


def run_from_archive(probe: str, archive: Path, cwd: Path) -> list[str]:
    """Run ``probe`` in a bare interpreter with the unpacked Lambda ``archive`` first on its path, as Lambda does (no
    TapStack installed there, no AWS variables but a region); its stdout lines, once it exited 0."""
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-1"}
    run = subprocess.run(
        [sys.executable, "-c", probe, str(archive)], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()
