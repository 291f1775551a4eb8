"""Offline synthesis: the program under recording mocks, producing the graph without any cloud call.

The recording mocks invent the ids and attributes a real provider would return (ARNs in the right shape,
names from inputs; per type in ``resource_types``) so that policies built from Outputs resolve to concrete,
checkable documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from . import runner
from .graph import Graph
from .resource_types import (
    ACCOUNT_ID,
    GET_AVAILABILITY_ZONES,
    GET_CALLER_IDENTITY,
    GET_PARAMETER,
    GET_PARTITION,
    GET_REGION,
    PARTITION,
    fake_state,
)


def _region_of(mocks: RecordingMocks, provider: str | None) -> str:
    return mocks.regions.get(runner.provider_ref_id(provider or ""), "us-east-1")


class RecordingMocks(pulumi.runtime.Mocks):
    """Invent provider results offline; remembers each provider's region for regional ARNs."""

    def __init__(self) -> None:
        self.regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ.startswith("pulumi:providers:"):
            pid = f"{args.name}-provider-id"
            self.regions[pid] = str(args.inputs.get("region", "us-east-1"))
            return pid, dict(args.inputs)
        if not args.custom:
            return None, {}
        region = _region_of(self, args.provider)
        return fake_state(args.typ, args.name, dict(args.inputs), region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return fake_invoke(args.token, args.args, _region_of(self, args.provider)), []


def fake_invoke(token: str, args: Mapping[str, Any], region: str) -> dict[str, Any]:
    if token == GET_CALLER_IDENTITY:
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/synth",
            "userId": "SYNTH",
            "id": ACCOUNT_ID,
        }
    if token == GET_PARTITION:
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}
    if token == GET_REGION:
        return {"name": region, "region": region, "id": region}
    if token == GET_AVAILABILITY_ZONES:
        names = [f"{region}{c}" for c in "abcdef"]
        return {"names": names, "zoneIds": [f"{region[:2]}-az{i}" for i in range(6)], "id": region}
    if token == GET_PARAMETER:
        return {"name": args.get("name"), "value": "ami-0abcdef1234567890", "type": "String", "id": args.get("name")}
    raise NotImplementedError(f"synth has no offline answer for invoke {token}")


def synthesize(
    program: Callable[[], None],
    config: Mapping[str, Any],
    *,
    project: str = "tapstack",
    stack: str = "dev",
    secret_keys: list[str] | None = None,
) -> Graph:
    """Run ``program`` offline and return its graph."""
    return runner.run(
        program,
        RecordingMocks(),
        project=project,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        mocks_compute_only=True,
    )
