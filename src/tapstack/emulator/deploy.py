"""Deploy the program into the emulator, write its outputs, and run the post-deploy checks.

The checks are the migration handler's own ``validate`` action, run in this process against the emulator with
the environment the Lambda function really has there (read back from the emulator, not from the program), so
a wrong variable in the deployed function fails the check exactly as it would fail in AWS. Regions with the
compute foundation also get a ``foundation`` check that reads the network, the group and the buckets back from
the emulator: what was deployed, not what was asked for.

The handler runs in this process as Lambda Invoke runs it in the emulator (``lambda_invoke``): through its
explicit entry, with the function's environment, its role's session, its timeout, every client pointed at the
emulator and at nothing else. The function is read once (``deployed_function``, GetFunction) into the one type
Lambda Invoke, the post-deploy checks and the release target share (``lambda_invoke.Function``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runner
from ..graph import Graph
from ..resource_types import ASG, BUCKET, FUNCTION, VPC
from ..stackfile import StackSettings
from . import lambda_invoke
from .engine import Clients, Engine, Event
from .lambda_invoke import Function
from .server import Emulator

PROJECT = "tapstack"
FUNCTION_TYPE = FUNCTION
GROUP_TYPE = ASG
BUCKET_TYPE = BUCKET
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass
class Deployment:
    graph: Graph
    seconds: float
    clients: Clients | None = None
    """The engine's clients, reusable by the post-deploy checks."""

    def per_region(self) -> Counter[str]:
        return Counter(r.region or "-" for r in self.graph.aws_resources())


def deploy(
    emulator: Emulator,
    settings: StackSettings,
    on_event: Callable[[Event], None] | None = None,
    reveal_secrets: bool = False,
) -> Deployment:
    """Run the program with the emulator engine; a failed resource raises its DeployError (the cause)."""
    from ..program import main as program

    engine = Engine(emulator, on_event)
    started = time.perf_counter()
    try:
        graph = runner.run(
            program,
            engine,
            project=PROJECT,
            stack=settings.stack,
            config=settings.values,
            secret_keys=settings.secret_keys,
            redact_secret_outputs=not reveal_secrets,
        )
    except Exception:
        # The runtime reports whichever failure it saw last (often a dependent's); the engine kept the cause.
        if engine.failures:
            raise engine.failures[0] from None
        raise
    return Deployment(graph, time.perf_counter() - started, engine.clients)


def write_outputs(outputs: dict[str, Any], path: Path) -> None:
    """``flat-outputs.json``: stack output name -> value, the file scripts and tests read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")


# -- running the handler against the emulator ---------------------------------------------------------


def deployed_function(clients: Clients, region: str, name: str) -> Function:
    """The function as the emulator holds it (GetFunction): its environment is what the handler will see in AWS."""
    return Function.configured(clients("lambda", region).get_function(FunctionName=name)["Configuration"])


def find_function(clients: Clients, region: str) -> Function:
    """The one TapStack migration function in ``region`` (its environment names a deployment bucket)."""
    names = [
        f["FunctionName"]
        for page in clients("lambda", region).get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if "TAPSTACK_DEPLOYMENT_BUCKET" in ((f.get("Environment") or {}).get("Variables") or {})
    ]
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise LookupError(f"expected one TapStack migration function in {region}, the emulator has: {found}")
    return deployed_function(clients, region, names[0])


@dataclass(frozen=True)
class Invocation:
    response: dict[str, Any]
    logs: list[str]
    """The function's log lines (what CloudWatch Logs would receive), kept apart from our own output."""


class FunctionFailed(RuntimeError):
    """The handler raised or ran past its timeout: Lambda's ``FunctionError: Unhandled`` and its document."""


def invoke_handler(emulator: Emulator, function: Function, event: dict[str, Any]) -> Invocation:
    """Run the deployed function in-process (its explicit entry, its environment, its role, its timeout) against
    the emulator: what Lambda Invoke answers there (``lambda_invoke``), without the round trip."""
    outcome = lambda_invoke.execute(function, event, lambda_invoke.role_session(emulator, function))
    if outcome.error:
        raise FunctionFailed(f"{function.name} failed (Unhandled): {outcome.payload.decode()[:500]}")
    response = json.loads(outcome.payload)
    return Invocation(dict(response), outcome.logs)


# -- post-deploy checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    region: str
    name: str
    passed: bool
    detail: str


def _message(response: dict[str, Any]) -> str:
    """The handler's own one-line account (``all 7 checks passed``, ``2 of 7 checks failed: ...``)."""
    body = response.get("body")
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"unexpected reply {json.dumps(response, default=str)[:300]}"


def _private_subnets_only(clients: Clients, region: str, group: dict[str, Any]) -> str | None:
    ec2 = clients("ec2", region)
    subnets = [s for s in group["VPCZoneIdentifier"].split(",") if s]
    for subnet in subnets:
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
        for table in tables["RouteTables"]:
            for route in table["Routes"]:
                if route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("GatewayId", "").startswith("igw-"):
                    return f"subnet {subnet} of the group routes to the internet gateway"
    instances = [i["InstanceId"] for i in group["Instances"]]
    if instances:
        for reservation in ec2.describe_instances(InstanceIds=instances)["Reservations"]:
            public = [i["InstanceId"] for i in reservation["Instances"] if i.get("PublicIpAddress")]
            if public:
                return f"instances {public} have public IP addresses"
    return None if subnets else "the group has no subnets"


def _flow_log_all(clients: Clients, region: str, vpc_id: str) -> str | None:
    logs = clients("ec2", region).describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])
    if not any(f.get("TrafficType") == "ALL" for f in logs["FlowLogs"]):
        return f"VPC {vpc_id} has no flow log capturing ALL traffic"
    return None


def _default_sg_empty(clients: Clients, region: str, vpc_id: str) -> str | None:
    groups = clients("ec2", region).describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    if any(g["IpPermissions"] or g["IpPermissionsEgress"] for g in groups):
        return f"the default security group of {vpc_id} still has rules"
    return None


def _bucket_hardened(clients: Clients, region: str, bucket: str) -> str | None:
    s3 = clients("s3", region)
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        return f"bucket {bucket} is not versioned"
    flags = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    if not all(flags.get(flag) for flag in PAB_FLAGS):
        return f"bucket {bucket} does not block all public access"
    if not s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]:
        return f"bucket {bucket} has no default encryption"
    return None


def foundation_check(clients: Clients, graph: Graph, region: str) -> Check:
    """Read system A back from the emulator: private-only group, flow log, empty default SG, hardened buckets."""
    findings: list[str] = []
    probes = 0
    try:
        for resource in graph.of_type(GROUP_TYPE):
            if resource.region != region:
                continue
            name = str(resource.outputs["name"])
            (group,) = clients("autoscaling", region).describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
                "AutoScalingGroups"
            ]
            probes += 1
            findings += filter(None, [_private_subnets_only(clients, region, group)])
        for vpc in graph.of_type(VPC):
            if vpc.region == region:
                probes += 2
                vpc_id = str(vpc.outputs["id"])
                findings += filter(
                    None, [_flow_log_all(clients, region, vpc_id), _default_sg_empty(clients, region, vpc_id)]
                )
        for bucket in graph.of_type(BUCKET_TYPE):
            if bucket.region == region:
                probes += 1
                findings += filter(None, [_bucket_hardened(clients, region, str(bucket.outputs["id"]))])
    except Exception as err:  # an unreadable resource is a failed check, reported like any other
        return Check(region, "foundation", False, f"could not read the deployment back: {type(err).__name__}: {err}")
    if findings:
        return Check(region, "foundation", False, f"{len(findings)} of {probes} checks failed: " + "; ".join(findings))
    return Check(region, "foundation", True, f"all {probes} checks passed")


def post_deploy_checks(emulator: Emulator, graph: Graph, clients: Clients | None = None) -> list[Check]:
    """``validate`` in every region that has a migration function; ``foundation`` in every region with compute.

    Pass the deploy's ``clients`` (``Deployment.clients``) to reuse the ones it already built.
    """
    clients = clients or Clients(emulator)
    checks = [
        foundation_check(clients, graph, region)
        for region in sorted({str(g.region) for g in graph.of_type(GROUP_TYPE)})
    ]
    for resource in graph.of_type(FUNCTION_TYPE):
        if "TAPSTACK_DEPLOYMENT_BUCKET" not in ((resource.inputs.get("environment") or {}).get("variables") or {}):
            continue  # not a migration function (the token's rotation function has no validate action)
        region = str(resource.region)  # the engine refuses resources without a region-scoped provider
        function = deployed_function(clients, region, str(resource.outputs["name"]))
        try:
            response = invoke_handler(emulator, function, {"action": "validate"}).response
        except Exception as err:  # a crashing handler is a failed check, reported like any other
            checks.append(Check(region, "validate", False, f"handler raised {type(err).__name__}: {err}"))
            continue
        passed = response.get("statusCode") == 200
        checks.append(Check(region, "validate", passed, _message(response)))
    return checks
