"""TAP006: every VPC records its traffic and filters every subnet; its default security group and default
network ACL are inert; its S3 gateway endpoint does not open every bucket in S3."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ...graph import Graph, Resource
from ...resource_types import (
    DEFAULT_NETWORK_ACL,
    DEFAULT_SECURITY_GROUP,
    FLOW_LOG,
    NETWORK_ACL,
    NETWORK_ACL_ASSOCIATION,
    NETWORK_ACL_RULE,
    SECURITY_GROUP_EGRESS_RULE,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    VPC_ENDPOINT_POLICY,
)
from ..facts import Index, dig, is_unknown, items, known, strings
from ..model import Context, Finding, Scope, Severity, rule

_S3_SERVICE = re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.s3$")
_EVERY_BUCKET = frozenset({"*", "arn:*:s3:::*", "arn:*:s3:::*/*"})
SG_RULES = (
    SECURITY_GROUP_RULE,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_EGRESS_RULE,
)


def _flow_log_findings(index: Index, vpc: Resource) -> Iterator[Finding]:
    logs = index.pointing_at(vpc, "vpcId", FLOW_LOG)
    if not logs:
        yield Finding(
            vpc,
            f"VPC {vpc.name!r} has no flow log: rejected and accepted traffic is never recorded",
            remediation="add aws.ec2.FlowLog(vpc_id=..., traffic_type='ALL') to a log group with retention",
        )
    elif all(log.prop("trafficType") == "ACCEPT" for log in logs):
        yield Finding(vpc, f"VPC {vpc.name!r} logs only accepted traffic: rejected connections go unrecorded")


def _covered_subnets(index: Index) -> set[str]:
    """URNs of subnets associated with a NACL other than the VPC's default one."""
    covered: set[str] = set()
    for acl in index.of_type(NETWORK_ACL):
        raw = acl.prop("subnetIds")
        if is_unknown(raw) or (isinstance(raw, list) and any(is_unknown(v) for v in raw)):
            # during preview the ids are not known yet: the subnets the NACL depends on are the ones it names
            deps = (index.by_urn(urn) for urn in acl.dependencies)
            covered.update(d.urn for d in deps if d is not None and d.type == SUBNET)
        for subnet_id in strings(raw):
            subnet = index.resolve(subnet_id, (SUBNET,), acl)
            if subnet is not None:
                covered.add(subnet.urn)
    for assoc in index.of_type(NETWORK_ACL_ASSOCIATION):
        associated = index.resolve(assoc.prop("subnetId"), (SUBNET,), assoc)
        if associated is not None and index.resolve(assoc.prop("networkAclId"), (NETWORK_ACL,), assoc) is not None:
            covered.add(associated.urn)
    return covered


def _default_sg_findings(index: Index, vpc: Resource) -> Iterator[Finding]:
    managed = index.pointing_at(vpc, "vpcId", DEFAULT_SECURITY_GROUP)
    if not managed:
        yield Finding(
            vpc,
            f"VPC {vpc.name!r} leaves its default security group with AWS's rules (all traffic within the "
            "group, all egress): anything launched without a group gets them",
            remediation="adopt it with aws.ec2.DefaultSecurityGroup(vpc_id=...) and no ingress/egress",
        )
    for group in managed:
        rules = [k for k in ("ingress", "egress") if items(group.prop(k))]
        if rules:
            yield Finding(group, f"default security group of VPC {vpc.name!r} has {' and '.join(rules)} rules")
    default_id = vpc.prop("defaultSecurityGroupId")
    if not isinstance(default_id, str) or is_unknown(default_id):
        return
    for sg_rule in index.of_type(*SG_RULES):
        if sg_rule.prop("securityGroupId") == default_id:
            yield Finding(sg_rule, f"rule {sg_rule.name!r} opens the default security group of VPC {vpc.name!r}")


def _adopted(index: Index, vpc: Resource) -> list[Resource]:
    """The aws.ec2.DefaultNetworkAcl resources that adopt this VPC's default network ACL."""
    default_id = vpc.prop("defaultNetworkAclId")
    adopted = []
    for acl in index.of_type(DEFAULT_NETWORK_ACL):
        ref = acl.prop("defaultNetworkAclId")
        if (isinstance(default_id, str) and known(default_id) and ref == default_id) or (
            is_unknown(ref) and vpc.urn in acl.dependencies
        ):
            adopted.append(acl)
    return adopted


def _default_nacl_findings(index: Index, vpc: Resource) -> Iterator[Finding]:
    adopted = _adopted(index, vpc)
    if not adopted:
        yield Finding(
            vpc,
            f"VPC {vpc.name!r} leaves its default network ACL with AWS's allow-all rules: a subnet added later "
            "without an ACL of its own is open in both directions",
            remediation="adopt it with aws.ec2.DefaultNetworkAcl(default_network_acl_id=vpc.default_network_acl_id) "
            "and no ingress/egress",
        )
    for acl in adopted:
        allowing = [k for k in ("ingress", "egress") if any(dig(r, "action") == "allow" for r in items(acl.prop(k)))]
        if allowing:
            yield Finding(acl, f"default network ACL of VPC {vpc.name!r} has {' and '.join(allowing)} allow rules")
    default_id = vpc.prop("defaultNetworkAclId")
    if not isinstance(default_id, str) or not known(default_id):
        return
    for entry in index.of_type(NETWORK_ACL_RULE):
        if entry.prop("networkAclId") == default_id and entry.prop("ruleAction") == "allow":
            yield Finding(entry, f"rule {entry.name!r} opens the default network ACL of VPC {vpc.name!r}")


def _statements(text: Any) -> list[dict[str, Any]] | None:
    """The statements of a policy document, None when the document is absent, unknown or not JSON."""
    if not isinstance(text, str) or is_unknown(text) or not text.strip():
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return [st for st in items(doc.get("Statement")) if isinstance(st, dict)] if isinstance(doc, dict) else None


def _every_bucket(statement: dict[str, Any]) -> bool:
    resources = [r for r in items(statement.get("Resource")) if isinstance(r, str)]
    wide = any(re.sub(r"^arn:aws[a-z-]*:", "arn:*:", r) in _EVERY_BUCKET for r in resources)
    return statement.get("Effect") == "Allow" and wide and not statement.get("Condition")


def _s3_endpoint_findings(index: Index) -> Iterator[Finding]:
    for endpoint in index.of_type(VPC_ENDPOINT):
        service = endpoint.prop("serviceName")
        if not isinstance(service, str) or not _S3_SERVICE.match(service):
            continue
        texts = [endpoint.prop("policy")]
        texts += [p.prop("policy") for p in index.pointing_at(endpoint, "vpcEndpointId", VPC_ENDPOINT_POLICY)]
        if any(is_unknown(t) for t in texts):
            continue
        documents = [st for st in (_statements(t) for t in texts) if st is not None]
        if not documents:
            yield Finding(
                endpoint,
                f"S3 endpoint {endpoint.name!r} keeps the default policy (full access to every bucket of every "
                "account): anything in the VPC can copy data out to a bucket of its choosing",
                remediation="give it a policy limited to the stack's buckets (and the OS repositories' buckets)",
            )
        elif any(_every_bucket(st) for doc in documents for st in doc):
            yield Finding(endpoint, f"S3 endpoint {endpoint.name!r} allows every bucket in S3 without a condition")


@rule(
    "TAP006",
    title="VPC flow logs, NACLs, inert defaults and a fenced S3 endpoint",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed="seed 000 #8: a VPC with subnets only: no flow logs, no network ACLs, no traffic controls",
    remediation=(
        "flow log per VPC, a NACL on every subnet tier, the default security group and default network ACL adopted "
        "and emptied, an S3 gateway endpoint policy naming the buckets the VPC needs"
    ),
    controls=("EC2.2", "EC2.6", "EC2.21"),
)
def network_controls(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every VPC has a flow log; every subnet has a non-default NACL; the default security group has no
    rules; the default network ACL is adopted with no allow rules; an S3 gateway endpoint has a policy that does
    not allow every bucket."""
    index = Index(graph)
    covered = _covered_subnets(index)
    for vpc in index.of_type(VPC):
        yield from _flow_log_findings(index, vpc)
        yield from _default_sg_findings(index, vpc)
        yield from _default_nacl_findings(index, vpc)
    yield from _s3_endpoint_findings(index)
    for subnet in index.of_type(SUBNET):
        if subnet.urn not in covered:
            yield Finding(
                subnet,
                f"subnet {subnet.name!r} is in no network ACL of its own: only the VPC's default NACL "
                "(allow everything) filters it",
                remediation="add it to the subnet_ids of its tier's aws.ec2.NetworkAcl",
            )
