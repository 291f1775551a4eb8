"""TAP006: every VPC records its traffic and filters every subnet; its default security group is inert."""

from __future__ import annotations

from collections.abc import Iterator

from ...graph import Graph, Resource
from ..facts import Index, is_unknown, items, strings
from ..model import Context, Finding, Scope, Severity, rule

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULES = (
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
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
    for acl in index.of_type(NACL):
        raw = acl.prop("subnetIds")
        if is_unknown(raw) or (isinstance(raw, list) and any(is_unknown(v) for v in raw)):
            # during preview the ids are not known yet: the subnets the NACL depends on are the ones it names
            deps = (index.by_urn(urn) for urn in acl.dependencies)
            covered.update(d.urn for d in deps if d is not None and d.type == SUBNET)
        for subnet_id in strings(raw):
            subnet = index.resolve(subnet_id, (SUBNET,), acl)
            if subnet is not None:
                covered.add(subnet.urn)
    for assoc in index.of_type(NACL_ASSOCIATION):
        associated = index.resolve(assoc.prop("subnetId"), (SUBNET,), assoc)
        if associated is not None and index.resolve(assoc.prop("networkAclId"), (NACL,), assoc) is not None:
            covered.add(associated.urn)
    return covered


def _default_sg_findings(index: Index, vpc: Resource) -> Iterator[Finding]:
    managed = index.pointing_at(vpc, "vpcId", DEFAULT_SG)
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


@rule(
    "TAP006",
    title="VPC flow logs, NACLs and an empty default security group",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed="seed 000 #8: a VPC with subnets only: no flow logs, no network ACLs, no traffic controls",
    remediation=("flow log per VPC, a NACL on every subnet tier, the default security group adopted and emptied"),
    controls=("EC2.2", "EC2.6"),
)
def network_controls(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every VPC has a flow log; every subnet has a non-default NACL; the default security group has no
    rules."""
    index = Index(graph)
    covered = _covered_subnets(index)
    for vpc in index.of_type(VPC):
        yield from _flow_log_findings(index, vpc)
        yield from _default_sg_findings(index, vpc)
    for subnet in index.of_type(SUBNET):
        if subnet.urn not in covered:
            yield Finding(
                subnet,
                f"subnet {subnet.name!r} is in no network ACL of its own: only the VPC's default NACL "
                "(allow everything) filters it",
                remediation="add it to the subnet_ids of its tier's aws.ec2.NetworkAcl",
            )
