"""Where a release goes: the emulator or real AWS, behind one interface so both run the same orchestration.

A target gives boto3 clients per (service, region), invokes a region's migration function and, where nothing
else runs the instance agents, drives the fleet one step. On AWS the agents' systemd timer converges the
fleet; in the emulator the simulated fleet is stepped between polls, so the same polling code waits for both.
The emulator's target lives in the emulator package (``tapstack.emulator.release_target``): this library
imports nothing from the emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..contract import Outcome, Reply
from .outputs import StackOutputs

INVOKE_READ_TIMEOUT = 900
"""Lambda's own maximum run time: a migrate of many artifacts must not be cut off by the client."""


class Target(Protocol):
    outputs: StackOutputs
    label: str

    def client(self, service: str, region: str) -> Any: ...

    def invoke(self, region: str, event: dict[str, Any]) -> Reply: ...

    def converge(self, region: str) -> None: ...


class FleetDriver(Protocol):
    """The emulator's simulated fleet: one convergence pass of every instance agent in a region."""

    def converge(self, region: str) -> object: ...


class _ClientCache:
    """boto3 clients are thread-safe once made; making them is not, hence the lock."""

    def __init__(self, make: Callable[[str, str], Any]) -> None:
        self._make = make
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._clients:
                self._clients[(service, region)] = self._make(service, region)
            return self._clients[(service, region)]


class AwsTarget:
    """Real AWS with the caller's credentials: ``lambda:InvokeFunction`` on the deployed function names."""

    def __init__(self, outputs: StackOutputs, session: Any | None = None) -> None:
        import boto3

        self.outputs = outputs
        self.label = "AWS"
        self._session = session or boto3.session.Session()
        config = Config(retries={"max_attempts": 5, "mode": "standard"})
        invoke_config = Config(read_timeout=INVOKE_READ_TIMEOUT, retries={"max_attempts": 2, "mode": "standard"})
        self.client = _ClientCache(
            lambda service, region: self._session.client(
                service, region_name=region, config=invoke_config if service == "lambda" else config
            )
        )

    def invoke(self, region: str, event: dict[str, Any]) -> Reply:
        name = self.outputs.region(region).function_name
        try:
            response = self.client("lambda", region).invoke(
                FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
            payload = response["Payload"].read()
        except (ClientError, BotoCoreError) as err:
            return Reply(502, Outcome.INVOKE_FAILED, f"cannot invoke {name} in {region}: {err}")
        try:
            doc = json.loads(payload or b"null")
        except json.JSONDecodeError:
            return Reply(502, Outcome.INVOKE_FAILED, f"{name} in {region} answered non-JSON: {payload[:200]!r}")
        if response.get("FunctionError"):
            detail = doc.get("errorMessage") if isinstance(doc, dict) else doc
            message = f"{name} in {region} failed ({response['FunctionError']}): {detail}"
            return Reply(502, Outcome.FUNCTION_ERROR, message)
        return Reply.of(doc)

    def converge(self, region: str) -> None:
        """Nothing to drive: every instance's agent runs on its own timer."""
