"""TAP005: instances that are private, IMDSv2-only and encrypted, in groups that heal themselves sanely."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...graph import Graph, Resource
from ...lib.instance_types import Architecture, UnknownInstanceFamily, architecture, parameter_architecture
from ...resource_types import (
    ASG,
    INSTANCE,
    INTERNET_GATEWAY,
    LAUNCH_TEMPLATE,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
)
from ..facts import Index, dig, flag, is_unknown, items, number, strings
from ..model import Context, Finding, Scope, Severity, rule

_ANYWHERE = ("0.0.0.0/0", "::/0")
_RESOLVE_SSM = "resolve:ssm:"
AMI_PARAMETER_TAG = "AmiParameter"
"""The launch template tag TapStack records its AMI's SSM parameter in (components/compute.py)."""


def _to_internet(index: Index, route: dict[str, Any] | Resource, referrer: Resource) -> bool:
    get = route.prop if isinstance(route, Resource) else route.get
    if (
        get("destinationCidrBlock") not in _ANYWHERE
        and get("destinationIpv6CidrBlock") not in _ANYWHERE
        and get("cidrBlock") not in _ANYWHERE
        and get("ipv6CidrBlock") not in _ANYWHERE
    ):
        return False
    gateway = get("gatewayId")
    if not isinstance(gateway, str) or is_unknown(gateway):
        return False
    return gateway.startswith("igw-") or index.resolve(gateway, (INTERNET_GATEWAY,), referrer) is not None


def _internet_tables(index: Index) -> set[str]:
    """URNs of route tables with a default route to an internet gateway."""
    tables: set[str] = set()
    for table in index.of_type(ROUTE_TABLE):
        if any(isinstance(r, dict) and _to_internet(index, r, table) for r in items(table.prop("routes"))):
            tables.add(table.urn)
    for route in index.of_type(ROUTE):
        owner = index.resolve(route.prop("routeTableId"), (ROUTE_TABLE,), route)
        if owner is not None and _to_internet(index, route, route):
            tables.add(owner.urn)
    return tables


def public_subnets(index: Index) -> dict[str, str]:
    """Subnet URN -> why it is public (public IPs on launch, or a route table with an internet route)."""
    public: dict[str, str] = {}
    for candidate in index.of_type(SUBNET):
        if flag(candidate.prop("mapPublicIpOnLaunch")):
            public[candidate.urn] = "assigns public IPs on launch"
    internet = _internet_tables(index)
    for assoc in index.of_type(ROUTE_TABLE_ASSOCIATION):
        subnet = index.resolve(assoc.prop("subnetId"), (SUBNET,), assoc)
        table = index.resolve(assoc.prop("routeTableId"), (ROUTE_TABLE,), assoc)
        if subnet is not None and table is not None and table.urn in internet:
            public.setdefault(subnet.urn, f"routes 0.0.0.0/0 to an internet gateway ({table.name})")
    return public


def _group_findings(index: Index, group: Resource, public: dict[str, str]) -> Iterator[Finding]:
    if group.prop("launchConfiguration"):
        yield Finding(
            group,
            f"auto scaling group {group.name!r} uses a launch configuration, which cannot require IMDSv2 the "
            "way a launch template does (and gets no new instance types)",
            remediation="use aws.ec2.LaunchTemplate and launch_template={'id': ..., 'version': ...}",
        )
    check_type = group.prop("healthCheckType")
    balanced = items(group.prop("targetGroupArns")) or items(group.prop("loadBalancers"))
    if check_type is None:
        yield Finding(group, f"auto scaling group {group.name!r} sets no health check type")
    elif check_type == "ELB" and not balanced and not is_unknown(group.prop("targetGroupArns")):
        yield Finding(
            group,
            f"auto scaling group {group.name!r} uses ELB health checks but is attached to no load balancer",
            remediation="use health_check_type='EC2', or attach the group to a target group",
        )
    grace = group.prop("healthCheckGracePeriod")
    if not is_unknown(grace) and not number(grace):
        yield Finding(
            group,
            f"auto scaling group {group.name!r} has no health check grace period: instances are judged (and "
            "replaced) before they finish booting",
            remediation="set health_check_grace_period (TapStack: tapstack:healthCheckGracePeriodSeconds)",
        )
    subnets = group.prop("vpcZoneIdentifiers")
    if not is_unknown(subnets) and not strings(subnets):
        yield Finding(
            group,
            f"auto scaling group {group.name!r} names no subnets: instances land in the default VPC, whose "
            "subnets are public",
            remediation="set vpc_zone_identifiers to the private subnets",
        )
    for subnet_id in strings(subnets):
        subnet = index.resolve(subnet_id, (SUBNET,), group)
        if subnet is not None and subnet.urn in public:
            yield Finding(
                group,
                f"auto scaling group {group.name!r} launches into subnet {subnet.name!r}, which {public[subnet.urn]}",
                remediation="set vpc_zone_identifiers to private subnets only (reach instances with SSM)",
            )


def _instance_findings(resource: Resource, what: str) -> Iterator[Finding]:
    tokens = dig(resource.prop("metadataOptions"), "httpTokens")
    if tokens != "required" and not is_unknown(tokens):
        yield Finding(
            resource,
            f"{what} allows IMDSv1 (metadata_options.http_tokens={tokens!r}): SSRF can read instance credentials",
            remediation="set metadata_options={'http_tokens': 'required', 'http_endpoint': 'enabled'}",
        )
    interfaces = items(resource.prop("networkInterfaces"))
    if flag(resource.prop("associatePublicIpAddress")) or any(
        flag(dig(i, "associatePublicIpAddress")) for i in interfaces
    ):
        yield Finding(
            resource,
            f"{what} gives instances a public IP address",
            remediation="set associate_public_ip_address=False and launch into private subnets",
        )
    disks = [dig(m, "ebs") for m in items(resource.prop("blockDeviceMappings"))]
    disks += [resource.prop("rootBlockDevice"), *items(resource.prop("ebsBlockDevices"))]
    disks = [d for d in disks if isinstance(d, dict)]
    if not disks:
        yield Finding(
            resource,
            f"{what} maps no EBS volume: whether the root volume is encrypted depends on the AMI",
            remediation="add a block device mapping for the root volume with ebs.encrypted=True",
            severity=Severity.MEDIUM,
        )
    for disk in disks:
        if flag(disk.get("encrypted")) is not True and not is_unknown(disk.get("encrypted")):
            yield Finding(
                resource, f"{what} has an EBS volume without encryption", remediation="set ebs.encrypted=True"
            )


def ami_architecture(template: Resource) -> tuple[Architecture, str] | None:
    """The architecture a launch template's AMI is known to have, and how it is known: an ``imageId`` of the form
    ``resolve:ssm:<parameter>`` or the ``AmiParameter`` tag, when the parameter's name states it (AWS names its
    public AMI parameters ``...-arm64`` / ``...-x86_64``). None when the graph does not say."""
    image = template.prop("imageId")
    sources = []
    if isinstance(image, str) and image.startswith(_RESOLVE_SSM):
        sources.append(image.removeprefix(_RESOLVE_SSM).split(":", 1)[0])
    tagged = dig(template.prop("tags"), AMI_PARAMETER_TAG)
    if isinstance(tagged, str):
        sources.append(tagged)
    for parameter in sources:
        arch = parameter_architecture(parameter)
        if arch is not None:
            return arch, parameter
    return None


def type_architecture(instance_type: Any) -> Architecture | None:
    if not isinstance(instance_type, str) or is_unknown(instance_type):
        return None
    try:
        return architecture(instance_type)
    except UnknownInstanceFamily:
        return None  # not this rule's to judge: TapStack's config refuses it, other programs may know better


def _architecture_findings(index: Index) -> Iterator[Finding]:
    amis: dict[str, tuple[Architecture, str]] = {}
    for template in index.of_type(LAUNCH_TEMPLATE):
        ami = ami_architecture(template)
        if ami is None:
            continue
        amis[template.urn] = ami
        wanted = type_architecture(template.prop("instanceType"))
        if wanted is not None and wanted is not ami[0]:
            yield Finding(
                template,
                f"launch template {template.name!r} runs {template.prop('instanceType')} ({wanted.value}) from an "
                f"{ami[0].value} AMI ({ami[1]}): EC2 refuses every launch",
                remediation="take the AMI parameter of the instance type's architecture (lib/instance_types.py)",
            )
    for group in index.of_type(ASG):
        spec = dig(group.prop("mixedInstancesPolicy"), "launchTemplate", "launchTemplateSpecification")
        launched = index.resolve(dig(spec, "launchTemplateId"), (LAUNCH_TEMPLATE,), group)
        if launched is None or launched.urn not in amis:
            continue
        arch, parameter = amis[launched.urn]
        overrides = items(dig(group.prop("mixedInstancesPolicy"), "launchTemplate", "overrides"))
        for override in overrides:
            kind = dig(override, "instanceType")
            got = type_architecture(kind)
            if got is not None and got is not arch:
                yield Finding(
                    group,
                    f"auto scaling group {group.name!r} may launch {kind} ({got.value}) from launch template "
                    f"{launched.name!r}, whose AMI is {arch.value} ({parameter})",
                    remediation="keep every instance type of a mixed instances policy on the AMI's architecture",
                )


@rule(
    "TAP005",
    title="Private, IMDSv2-only, self-healing compute",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed=(
        "seed 000 #7: an ASG with ELB health checks, no grace period and no dependable wiring; the fix runs "
        "EC2 health checks with a grace period in private subnets"
    ),
    remediation=(
        "EC2 health checks with a grace period in private subnets, from a launch template with IMDSv2 "
        "required, encrypted EBS, no public IP and an AMI of the instance types' architecture "
        "(components/compute.py)"
    ),
    controls=("AutoScaling.1", "AutoScaling.9", "EC2.3", "EC2.8", "EC2.25", "EC2.170"),
)
def private_compute(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Auto Scaling groups set a health check type and grace period and use private subnets only; launch
    templates and instances require IMDSv2, encrypt EBS and get no public IP; an AMI whose architecture the
    graph states fits every instance type it is launched on."""
    index = Index(graph)
    public = public_subnets(index)
    for group in index.of_type(ASG):
        yield from _group_findings(index, group, public)
    for template in index.of_type(LAUNCH_TEMPLATE):
        yield from _instance_findings(template, f"launch template {template.name!r}")
    for instance in index.of_type(INSTANCE):
        yield from _instance_findings(instance, f"instance {instance.name!r}")
    yield from _architecture_findings(index)
