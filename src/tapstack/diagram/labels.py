"""The words in each box: its title (from the type registry) and a few facts a reviewer looks for.

Facts come from the box's own inputs and from what is folded into it (a bucket's versioning and encryption,
a group's launch template), so a missing control shows on the picture ("not versioned", "no retention!").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from ..graph import Resource, as_list
from ..resource_types import (
    ALARM,
    ASG,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_VERSIONING,
    FLOW_LOG,
    FUNCTION,
    INTERNET_GATEWAY,
    KMS_ALIAS,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    NAT_GATEWAY,
    PARAMETER,
    ROUTE,
    ROUTE_TABLE,
    SUBNET,
    TOPIC,
    TOPIC_SUBSCRIPTION,
    VPC_ENDPOINT,
    title,
)
from .model import Folding, Node


def _first(resources: list[Resource], token: str) -> Resource | None:
    return next((r for r in resources if r.type == token), None)


def _physical(node: Node, _: Folding) -> list[str]:
    return [node.name]


def _subnet(node: Node, _: Folding) -> list[str]:
    ins = node.resource.inputs
    return [" · ".join(str(v) for v in (ins.get("cidrBlock"), ins.get("availabilityZone")) if v)]


def _route_table(node: Node, b: Folding) -> list[str]:
    """Its routes by destination and next hop, and the gateway endpoints that add routes to it."""
    details: list[str] = []
    for route in (m for m in node.resources if m.type == ROUTE):
        hops = [b.by_urn[t] for p, t in b.refs[route.urn] if p != ("routeTableId",)]
        hop = title(hops[0].type) if hops else "?"
        details.append(f"{route.inputs.get('destinationCidrBlock', '?')} → {hop}")
    for endpoint in (b.by_urn[u] for u in b.referrers[node.resource.urn]):
        if endpoint.type == VPC_ENDPOINT:
            svc = str(endpoint.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
            details.append(f"{svc} → gateway endpoint")
    return details or ["local routes only"]


def _log_group(node: Node, _: Folding) -> list[str]:
    days = node.resource.inputs.get("retentionInDays")
    return [node.name, f"retention {int(days)} days" if days else "no retention!"]


def _asg(node: Node, _: Folding) -> list[str]:
    ins = node.resource.inputs
    sizes = [ins.get(k) for k in ("minSize", "desiredCapacity", "maxSize")]
    details = [
        node.name,
        "min {} · desired {} · max {}".format(*(int(s) if isinstance(s, int | float) else "?" for s in sizes)),
    ]
    template = _first(node.resources, LAUNCH_TEMPLATE)
    if template is not None:
        meta = template.inputs.get("metadataOptions") or {}
        imds = "IMDSv2" if meta.get("httpTokens") == "required" else "IMDSv1 allowed"
        details.append(f"{template.inputs.get('instanceType', '?')} · {imds}")
    return details


def _bucket(node: Node, _: Folding) -> list[str]:
    facts: list[str] = []
    versioning = _first(node.resources, BUCKET_VERSIONING)
    status = ((versioning.inputs.get("versioningConfiguration") or {}) if versioning else {}).get("status")
    facts.append("versioned" if status == "Enabled" else "not versioned")
    encryption = _first(node.resources, BUCKET_ENCRYPTION)
    if encryption is not None:
        rules = encryption.inputs.get("rules") or [{}]
        algo = (rules[0].get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm", "?")
        facts.append({"aws:kms": "SSE-KMS", "AES256": "SSE-S3"}.get(algo, algo))
    pab = _first(node.resources, BUCKET_PUBLIC_ACCESS_BLOCK)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if pab is not None and all(pab.inputs.get(f) is True for f in flags):
        facts.append("private")
    return [node.name, " · ".join(facts)]


def _function(node: Node, _: Folding) -> list[str]:
    ins = node.resource.inputs
    arch = ",".join(str(a) for a in as_list(ins.get("architectures")))
    return [node.name, " · ".join(v for v in (str(ins.get("runtime", "")), arch) if v)]


def _topic(node: Node, _: Folding) -> list[str]:
    subs = sum(1 for m in node.resources if m.type == TOPIC_SUBSCRIPTION)
    encrypted = "encrypted" if node.resource.inputs.get("kmsMasterKeyId") else "not encrypted"
    return [node.name, encrypted, f"{subs} subscription(s)" if subs else ""]


def _key(node: Node, b: Folding) -> list[str]:
    alias = _first(node.resources, KMS_ALIAS)
    users = sum(1 for keys in b.key_users.values() if node.resource.urn in keys)
    return [
        str(alias.inputs.get("name")) if alias else node.name,
        "rotation on" if node.resource.inputs.get("enableKeyRotation") else "rotation off",
        f"encrypts for {users} resources",
    ]


def _alarms(node: Node, b: Folding) -> list[str]:
    """Short alarm names (the component's name stripped), three per line."""
    parent = b.components.get(node.group or "")
    prefix = f"{parent.name}-" if parent else ""
    names = sorted(m.name.removeprefix(prefix) for m in node.resources)
    return [" · ".join(names[i : i + 3]) for i in range(0, len(names), 3)]


_DETAILS: dict[str, Callable[[Node, Folding], list[str]]] = {
    SUBNET: _subnet,
    ROUTE_TABLE: _route_table,
    INTERNET_GATEWAY: lambda node, b: [],
    NAT_GATEWAY: lambda node, b: [f"{node.resource.inputs.get('connectivityType', 'public')}, elastic IP"],
    FLOW_LOG: lambda node, b: [f"{node.resource.inputs.get('trafficType', '?')} traffic"],
    LOG_GROUP: _log_group,
    ASG: _asg,
    BUCKET: _bucket,
    FUNCTION: _function,
    TOPIC: _topic,
    PARAMETER: lambda node, b: [node.name, str(node.resource.inputs.get("type", ""))],
    KMS_KEY: _key,
    ALARM: _alarms,
}


def describe(node: Node, b: Folding) -> tuple[str, list[str]]:
    heading = title(node.kind)
    if node.kind == SUBNET and node.tier:
        heading = f"{node.tier} {heading}"
    details = _DETAILS.get(node.kind, _physical)(node, b)
    return heading, [d for d in details if d]


def key_users_of(b: Folding) -> dict[str, set[str]]:
    """Box -> keys it uses: drawn as a count on the key, since an edge from every encrypted box is noise."""
    users: dict[str, set[str]] = defaultdict(set)
    for r in b.resources:
        owner = b.owner(r.urn)
        if owner is None or owner.startswith("vpc:"):
            continue
        for _, t in b.refs[r.urn]:
            if b.by_urn[t].type == KMS_KEY and b.owner(t) != owner:
                users[owner].add(t)
    return users
