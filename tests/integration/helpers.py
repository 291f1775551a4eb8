"""One emulator and one deploy of the two-region example per test session, through the real CLI.

Every test here reads what ``tapstack up --local`` really created: the emulator's own answers (boto3 against
it), the outputs file it wrote and the summary it printed. Tests create only uniquely named things of their
own, so they do not depend on each other's order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tapstack.emulator.deploy import deployed_function
from tapstack.emulator.engine import Clients
from tapstack.emulator.lambda_invoke import Function
from tapstack.emulator.server import Emulator
from tests.helpers import EXAMPLES, up_local

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

    def function(self, region: str) -> Function:
        return deployed_function(self.clients, region, self.out(region, "function_name"))


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    outputs = tmp_path_factory.mktemp("outputs") / "flat-outputs.json"
    with Emulator.start() as emulator:
        summary, written = up_local(emulator, CONFIG, outputs)
        yield Deployed(emulator, summary, written, Clients(emulator))


@pytest.fixture
def unique() -> str:
    """A fresh name part, so that what one test creates never meets what another created."""
    return uuid.uuid4().hex[:10]


def resolved(build: Callable[[], pulumi.Output[str]]) -> str:
    """The JSON a policy builder of ``lib/iam.py`` produces (its Outputs resolved outside a Pulumi program)."""
    previous = asyncio.get_event_loop_policy().get_event_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return str(loop.run_until_complete(build().future()))
    finally:
        asyncio.set_event_loop(previous)
        loop.close()


def encrypt_with_kms(s3: Any, bucket: str, key_arn: str) -> None:
    """Default encryption as TapStack deploys it: SSE-KMS under ``key_arn`` with an S3 Bucket Key."""
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
