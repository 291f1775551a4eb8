"""Guard test helpers: hand-built graphs for rule edge cases, and the seed fixture programs synthesized."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from tapstack.graph import Graph, Resource
from tapstack.guard.model import Context, Violation
from tapstack.guard.rules import RULES_BY_ID
from tapstack.guard.rules.s3 import ENCRYPTION_TYPES, VERSIONING_TYPES
from tapstack.lib.regions import region_code
from tapstack.resource_types import BUCKET_OWNERSHIP_CONTROLS, BUCKET_POLICY, BUCKET_PUBLIC_ACCESS_BLOCK
from tapstack.synth import synthesize

STACK = "dev"
ACCOUNT = "123456789012"


class GraphBuilder:
    """Resources the way synthesis records them: camelCase inputs, outputs with ids, one provider per
    region."""

    def __init__(self, suffix: str = "dev") -> None:
        self.suffix = suffix
        self.resources: list[Resource] = []
        self._providers: dict[str, str] = {}

    def provider(self, region: str) -> str:
        if region not in self._providers:
            name = f"aws-{region_code(region)}"
            urn = f"urn:pulumi:{STACK}::tapstack::pulumi:providers:aws::{name}"
            tags = {"tags": {"Environment": self.suffix}}
            self.resources.append(
                Resource(
                    urn=urn,
                    type="pulumi:providers:aws",
                    name=name,
                    region=region,
                    inputs={"region": region, "defaultTags": tags},
                )
            )
            self._providers[region] = urn
        return self._providers[region]

    def add(
        self,
        type_: str,
        logical: str,
        region: str = "us-east-1",
        /,
        *,
        outputs: dict[str, Any] | None = None,
        deps: tuple[Resource, ...] = (),
        **inputs: Any,
    ) -> Resource:
        """``inputs`` are the engine's property names (``name=`` is the physical name, as in the graph)."""
        provider = self.provider(region)
        resource = Resource(
            urn=f"urn:pulumi:{STACK}::tapstack::{type_}::{logical}",
            type=type_,
            name=logical,
            region=region,
            provider=provider,
            dependencies=[d.urn for d in deps],
            inputs=inputs,
            outputs={"id": f"{logical}-id", **(outputs or {})},
        )
        self.resources.append(resource)
        return resource

    def bucket(self, logical: str, region: str = "us-east-1", *, companions: bool = True, **inputs: Any) -> Resource:
        """A bucket whose id is its physical name (as AWS and the mocks have it), hardened unless told not."""
        physical = inputs.pop("bucket", f"tapstack-{logical}-{region_code(region)}-{ACCOUNT}-{self.suffix}")
        bucket = self.add(
            "aws:s3/bucket:Bucket",
            logical,
            region,
            outputs={"id": physical, "arn": f"arn:aws:s3:::{physical}", "bucket": physical},
            bucket=physical,
            **inputs,
        )
        if companions:
            self.harden(bucket)
        return bucket

    def harden(self, bucket: Resource, *, skip: tuple[str, ...] = ()) -> None:
        physical = bucket.outputs["id"]
        region = bucket.region or "us-east-1"
        parts: dict[str, dict[str, Any]] = {
            "versioning": {"versioningConfiguration": {"status": "Enabled"}},
            "encryption": {
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"},
                        "bucketKeyEnabled": True,
                    }
                ]
            },
            "pab": {
                k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            },
            "ownership": {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
            "policy": {"policy": tls_policy(physical)},
        }
        types = {
            "versioning": VERSIONING_TYPES[0],
            "encryption": ENCRYPTION_TYPES[0],
            "pab": BUCKET_PUBLIC_ACCESS_BLOCK,
            "ownership": BUCKET_OWNERSHIP_CONTROLS,
            "policy": BUCKET_POLICY,
        }
        for part, props in parts.items():
            if part not in skip:
                self.add(types[part], f"{bucket.name}-{part}", region, deps=(bucket,), bucket=physical, **props)

    def graph(self, outputs: dict[str, Any] | None = None) -> Graph:
        return Graph(stack=STACK, resources=list(self.resources), outputs=outputs or {})


def tls_policy(bucket_name: str) -> str:
    arn = f"arn:aws:s3:::{bucket_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": ["s3:*"],
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def check(rule_id: str, graph: Graph, context: Context | None = None) -> list[Violation]:
    return RULES_BY_ID[rule_id](graph, context)


def messages(rule_id: str, graph: Graph, context: Context | None = None) -> list[str]:
    return [v.message for v in check(rule_id, graph, context)]


@pytest.fixture
def builder() -> GraphBuilder:
    return GraphBuilder()


def synth_program(program: Callable[[], None]) -> Graph:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # BucketV2 and friends warn, on purpose
        return synthesize(program, {}, stack=STACK)
