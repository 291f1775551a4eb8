"""One emulator and one deploy of the two-region example per test session, through the real CLI.

Every test here reads what ``tapstack up --local`` really created: the emulator's own answers (boto3 against
it), the outputs file it wrote and the summary it printed. Tests create only uniquely named things of their
own, so they do not depend on each other's order.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tapstack.cli import main
from tapstack.emulator.deploy import DeployedFunction, deployed_function
from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator
from tests.helpers import EXAMPLES

CONFIG = EXAMPLES / "two-region" / "Pulumi.dev.yaml"
PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
CODES = {PRIMARY: "use1", SECONDARY: "euw1"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@dataclass
class Deployed:
    emulator: Emulator
    summary: dict[str, Any]
    """What `tapstack up --local --json` printed."""
    outputs: dict[str, Any]
    """What it wrote to the outputs file."""
    clients: Clients

    def aws(self, service: str, region: str = PRIMARY) -> Any:
        return self.clients(service, region)

    def out(self, region: str, key: str) -> Any:
        return self.outputs[f"{CODES[region]}_{key}"]

    def function(self, region: str) -> DeployedFunction:
        return deployed_function(self.clients, region, self.out(region, "function_name"))


@contextmanager
def emulator_environment(emulator: Emulator) -> Iterator[None]:
    """What a shell gets from `--keep`'s export lines, for the time of one CLI call."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in emulator.environment().items():
            mp.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    outputs = tmp_path_factory.mktemp("outputs") / "flat-outputs.json"
    with Emulator.start() as emulator:
        stdout, stderr = io.StringIO(), io.StringIO()
        args = [
            "up",
            "--local",
            "--config",
            str(CONFIG),
            "--endpoint",
            emulator.url,
            "--outputs",
            str(outputs),
        ]
        with emulator_environment(emulator), redirect_stdout(stdout), redirect_stderr(stderr):
            code = main([*args, "--json"])
        assert code == 0, f"tapstack up --local failed ({code}):\n{stdout.getvalue()}{stderr.getvalue()}"
        yield Deployed(emulator, json.loads(stdout.getvalue()), json.loads(outputs.read_text()), Clients(emulator))


@pytest.fixture
def unique() -> str:
    """A fresh name part, so that what one test creates never meets what another created."""
    return uuid.uuid4().hex[:10]
