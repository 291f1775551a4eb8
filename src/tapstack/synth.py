"""Offline synthesis: the program under recording mocks, producing the graph without any cloud call.

The recording mocks invent the ids and attributes a real provider would return (ARNs in the right shape,
names from inputs) so that policies built from Outputs resolve to concrete, checkable documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from . import runner
from .graph import Graph

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


def _region_of(mocks: RecordingMocks, provider: str | None) -> str:
    return mocks.regions.get(runner.provider_ref_id(provider or ""), "us-east-1")


def fake_state(typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """(id, outputs) shaped like the real provider's, for the types TapStack uses."""
    acct = ACCOUNT_ID
    svc_res = typ.split(":")[1].split("/")
    svc = svc_res[0]
    rid = f"{name}-id"
    out: dict[str, Any] = {}
    phys = inputs.get("name") or inputs.get("bucket") or name
    if typ == "aws:s3/bucket:Bucket":
        rid = phys
        out = {
            "arn": f"arn:{PARTITION}:s3:::{phys}",
            "bucket": phys,
            "bucketDomainName": f"{phys}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{phys}.s3.{region}.amazonaws.com",
            "region": region,
        }
    elif typ in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile", "aws:iam/policy:Policy"):
        kind = {
            "aws:iam/role:Role": "role",
            "aws:iam/instanceProfile:InstanceProfile": "instance-profile",
            "aws:iam/policy:Policy": "policy",
        }[typ]
        rid = phys
        out = {"arn": f"arn:{PARTITION}:iam::{acct}:{kind}/{phys}", "name": phys, "uniqueId": f"AROA{name[:8]}"}
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        rid = phys
        out = {"arn": f"arn:{PARTITION}:logs:{region}:{acct}:log-group:{phys}"}
    elif typ == "aws:sns/topic:Topic":
        rid = f"arn:{PARTITION}:sns:{region}:{acct}:{phys}"
        out = {"arn": rid}
    elif typ == "aws:lambda/function:Function":
        rid = phys
        out = {
            "arn": f"arn:{PARTITION}:lambda:{region}:{acct}:function:{phys}",
            "invokeArn": f"arn:{PARTITION}:apigateway:{region}:lambda:path/functions/{phys}/invocations",
        }
    elif typ == "aws:kms/key:Key":
        rid = f"{name}-0000-4000-8000-000000000000"[:36]
        out = {"arn": f"arn:{PARTITION}:kms:{region}:{acct}:key/{rid}", "keyId": rid}
    elif typ == "aws:secretsmanager/secret:Secret":
        rid = f"arn:{PARTITION}:secretsmanager:{region}:{acct}:secret:{phys}-AbCdEf"
        out = {"arn": rid}
    elif typ == "aws:ssm/parameter:Parameter":
        rid = phys
        out = {"arn": f"arn:{PARTITION}:ssm:{region}:{acct}:parameter{phys}"}
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        rid = phys
        out = {"arn": f"arn:{PARTITION}:cloudwatch:{region}:{acct}:alarm:{phys}"}
    elif typ == "aws:autoscaling/group:Group":
        rid = phys
        out = {"arn": f"arn:{PARTITION}:autoscaling:{region}:{acct}:autoScalingGroup:uuid:autoScalingGroupName/{phys}"}
    elif svc == "ec2":
        rid = f"{svc_res[1][:6]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        out = {"arn": f"arn:{PARTITION}:ec2:{region}:{acct}:{svc_res[1].lower()}/{rid}", "ownerId": acct}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out["latestVersion"] = 1
        if typ == "aws:ec2/vpc:Vpc":
            out["defaultSecurityGroupId"] = f"sg-default-{rid}"
            out["defaultNetworkAclId"] = f"acl-default-{rid}"
            out["mainRouteTableId"] = f"rtb-main-{rid}"
    return rid, {**inputs, **out}


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
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/synth",
            "userId": "SYNTH",
            "id": ACCOUNT_ID,
        }
    if token == "aws:index/getPartition:getPartition":
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        names = [f"{region}{c}" for c in "abcdef"]
        return {"names": names, "zoneIds": [f"{region[:2]}-az{i}" for i in range(6)], "id": region}
    if token == "aws:ssm/getParameter:getParameter":
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
    return runner.run(program, RecordingMocks(), project=project, stack=stack, config=config, secret_keys=secret_keys)
