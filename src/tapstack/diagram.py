"""The architecture diagram: what a reader needs to see of a stack, derived from the resource graph itself.

A region holds about a hundred resources, and most of them only refine another one (route table
associations, NACL entries, bucket settings, role policies) or serve one (the role of a function, the
launch template of a group). Drawing them all gives a hairball; dropping them loses relations. So each is
folded into the resource it refines or serves, its references become that resource's edges, and the
picture keeps every relation (Lambda -> bucket comes from the Lambda's role policy) with a few nodes per
region. Nothing here knows a resource name: edges come from ids and ARNs found in inputs, disambiguated by
the recorded dependencies.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import graphviz  # type: ignore[import-untyped]

from .errors import TapStackError
from .graph import Graph, Resource, short_type

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ASG = "aws:autoscaling/group:Group"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
FUNCTION = "aws:lambda/function:Function"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PARAMETER = "aws:ssm/parameter:Parameter"
SECRET = "aws:secretsmanager/secret:Secret"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# Resources that only refine another one, and the input naming it: they become part of that resource.
REFINES: dict[str, str] = {
    ROUTE_TABLE_ASSOCIATION: "subnetId",
    ROUTE: "routeTableId",
    NETWORK_ACL_RULE: "networkAclId",
    NETWORK_ACL: "vpcId",
    "aws:ec2/networkAclAssociation:NetworkAclAssociation": "networkAclId",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "vpcId",
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": "defaultNetworkAclId",
    VPC_ENDPOINT: "vpcId",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "securityGroupId",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "securityGroupId",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "securityGroupId",
    ROLE_POLICY: "role",
    ROLE_POLICY_ATTACHMENT: "role",
    "aws:sns/topicPolicy:TopicPolicy": "arn",
    TOPIC_SUBSCRIPTION: "topic",
    KMS_ALIAS: "targetKeyId",
    "aws:secretsmanager/secretVersion:SecretVersion": "secretId",
    "aws:lambda/permission:Permission": "function",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "logGroupName",
}
# Resources that exist to serve the one resource referencing them (a role, the launch template of a group).
SERVES = frozenset(
    {
        ROLE,
        "aws:iam/instanceProfile:InstanceProfile",
        LAUNCH_TEMPLATE,
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/eip:Eip",
    }
)
# Inputs that tell a resource about others without giving it any relation a reader should follow.
CONTEXT_KEYS = frozenset({"tags", "tagsAll", "environment", "code", "description"})

TITLES: dict[str, str] = {
    SUBNET: "subnet",
    ROUTE_TABLE: "route table",
    INTERNET_GATEWAY: "internet gateway",
    NAT_GATEWAY: "NAT gateway",
    FLOW_LOG: "VPC flow log",
    LOG_GROUP: "log group",
    ASG: "Auto Scaling group",
    BUCKET: "S3 bucket",
    FUNCTION: "Lambda function",
    TOPIC: "SNS topic",
    PARAMETER: "SSM parameter",
    SECRET: "Secrets Manager secret",
    KMS_KEY: "KMS key",
    ALARM: "CloudWatch alarms",
}
# (fill, border) per AWS service family, so a reader finds the storage or the network at a glance.
PALETTE: dict[str, tuple[str, str]] = {
    "ec2": ("#e8f0fb", "#3b73b9"),
    "autoscaling": ("#fdebd3", "#d86613"),
    "lambda": ("#fdebd3", "#d86613"),
    "s3": ("#e6f4ea", "#3f8624"),
    "sns": ("#fbe4ec", "#c7136f"),
    "cloudwatch": ("#fbe4ec", "#c7136f"),
    "kms": ("#fdeaea", "#dd344c"),
    "ssm": ("#fdeaea", "#dd344c"),
    "secretsmanager": ("#fdeaea", "#dd344c"),
}
DEFAULT_COLORS = ("#f2f2f2", "#666666")
FORMATS = ("svg", "png", "dot")
INSTALL_HINT = (
    "Graphviz `dot` is not installed: install it (Debian/Ubuntu: `sudo apt-get install graphviz`, "
    "macOS: `brew install graphviz`), or write the DOT source with `--format dot`"
)


class GraphvizMissing(TapStackError, RuntimeError):
    """Rendering needs Graphviz's `dot` program; the message says how to install it."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


@dataclass
class Node:
    """One box: a resource plus everything folded into it (or a region's alarms of one component)."""

    id: str
    kind: str
    region: str
    resources: list[Resource]
    group: str | None = None
    vpc: str | None = None
    tier: str | None = None
    title: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def resource(self) -> Resource:
        return self.resources[0]

    @property
    def name(self) -> str:
        """The physical name when the resource has one (what the AWS console shows), else the logical name."""
        ins = self.resource.inputs
        return str(ins.get("name") or ins.get("bucket") or self.resource.name)


@dataclass
class Edge:
    src: str
    dst: str
    kind: str
    label: str = ""
    actions: set[str] = field(default_factory=set)


@dataclass
class Vpc:
    resource: Resource
    region: str
    members: list[Resource] = field(default_factory=list)


@dataclass
class Diagram:
    stack: str
    regions: list[str]
    primary: str | None
    nodes: dict[str, Node]
    edges: list[Edge]
    vpcs: dict[str, Vpc]
    components: dict[str, Resource]

    def nodes_in(self, region: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.region == region]

    def node_of(self, urn: str) -> Node | None:
        """The box a resource is drawn in (itself, or the one it was folded into)."""
        return next((n for n in self.nodes.values() if any(r.urn == urn for r in n.resources)), None)

    def edges_of(self, kind: str) -> list[Edge]:
        return [e for e in self.edges if e.kind == kind]


def service(token: str) -> str:
    """``aws:s3/bucket:Bucket`` -> ``s3``."""
    parts = token.split(":")
    return parts[1].split("/")[0] if len(parts) == 3 else parts[0]


def _normalized(value: str) -> Iterator[str]:
    """The forms under which a reference may name a resource: ``arn:...:bucket/*`` names the bucket."""
    yield value
    for suffix in ("/*", ":*"):
        if value.endswith(suffix):
            yield value[: -len(suffix)]
    parts = value.split(":")
    if len(parts) > 5 and parts[0] == "arn" and parts[2] == "s3" and "/" in value:
        yield value.split("/", 1)[0]


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in an input with its key path; JSON strings are opened, and from a policy document only
    ``Resource`` counts (principals and conditions name who may act, not what is acted on)."""
    if isinstance(value, dict):
        if "Statement" in value and path:
            statements = value["Statement"] if isinstance(value["Statement"], list) else [value["Statement"]]
            for st in statements:
                if isinstance(st, dict) and "Resource" in st:
                    yield from _walk(st["Resource"], (*path, "Resource"))
            return
        for key, item in value.items():
            if not path and key in CONTEXT_KEYS:
                continue
            yield from _walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, path)
    elif isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                yield from _walk(parsed, path)
                return
        yield path, value


class References:
    """Which resource each input value names: by id, ARN or name, narrowed by recorded dependencies."""

    def __init__(self, resources: list[Resource]) -> None:
        self.by_urn = {r.urn: r for r in resources}
        self.index: dict[str, set[str]] = defaultdict(set)
        # Inputs that state a resource's own name: a role and its instance profile may share it, and a
        # resource naming itself is not a reference to its namesake.
        self.own_keys: dict[str, set[str]] = defaultdict(set)
        for r in resources:
            key = _refined_key(r.type)
            borrowed = r.inputs.get(key) if key else None  # a topic policy's `arn` is the topic's
            for attr in ("id", "arn", "name", "bucket"):
                value = r.outputs.get(attr) or r.inputs.get(attr)
                if isinstance(value, str) and value and value != borrowed:
                    self.index[value].add(r.urn)
                    if attr in r.inputs:
                        self.own_keys[r.urn].add(attr)

    def resolve(self, source: Resource, value: str) -> str | None:
        for form in _normalized(value):
            found = self.index.get(form, set()) - {source.urn}
            if len(found) > 1:
                deps = found & set(source.dependencies)
                found = deps or found
            if len(found) > 1:
                found = {u for u in found if self.by_urn[u].region == source.region} or found
            if len(found) == 1:
                return next(iter(found))
        return None

    def of(self, source: Resource) -> list[tuple[tuple[str, ...], str]]:
        refs: list[tuple[tuple[str, ...], str]] = []
        for path, value in _walk(source.inputs):
            if path[:1] and path[0] in self.own_keys[source.urn]:
                continue
            target = self.resolve(source, value)
            if target is not None and (path, target) not in refs:
                refs.append((path, target))
        return refs


def _refines_bucket(token: str) -> bool:
    return token.startswith("aws:s3/bucket") and token != BUCKET


def _refined_key(token: str) -> str | None:
    return "bucket" if _refines_bucket(token) else REFINES.get(token)


class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        # The runtime registers resources from several threads: sort, so the same program draws the same picture.
        self.resources = sorted(graph.aws_resources(), key=lambda r: r.urn)
        self.by_urn = {r.urn: r for r in self.resources}
        self.components = {r.urn: r for r in graph.resources if r.is_component}
        self.refs_index = References(self.resources)
        self.refs = {r.urn: self.refs_index.of(r) for r in self.resources}
        self.referrers: dict[str, list[str]] = defaultdict(list)
        for urn, refs in self.refs.items():
            for _, target in refs:
                if urn not in self.referrers[target]:
                    self.referrers[target].append(urn)
        self._owner: dict[str, str | None] = {}

    @cached_property
    def key_users(self) -> dict[str, set[str]]:
        return _key_users_of(self)

    # --- ownership: which box (or VPC cluster) each resource belongs to ---------------------------------
    def owner(self, urn: str, seen: frozenset[str] = frozenset()) -> str | None:
        if urn in self._owner:
            return self._owner[urn]
        if urn in seen:
            return None
        seen = seen | {urn}
        r = self.by_urn[urn]
        result: str | None = urn
        if r.type == VPC:
            result = f"vpc:{urn}"
        elif r.type == ALARM:
            result = f"alarms:{r.region}:{r.parent}"
        elif (key := _refined_key(r.type)) is not None:
            target = next((t for path, t in self.refs[urn] if path[:1] == (key,)), None)
            if target is not None:
                result = self.owner(target, seen)
        elif r.type in SERVES:
            users = {self.owner(u, seen) for u in self.referrers[urn] if not self._refines(u, urn)}
            users.discard(None)
            if len(users) == 1:
                result = users.pop()
        self._owner[urn] = result
        return result

    def _refines(self, urn: str, target: str) -> bool:
        """Whether ``urn`` is an attachment of ``target`` (a role's policy), as opposed to a user of it."""
        key = _refined_key(self.by_urn[urn].type)
        return key is not None and any(path[:1] == (key,) and t == target for path, t in self.refs[urn])

    def build(self) -> Diagram:
        regions = self._regions()
        vpcs: dict[str, Vpc] = {}
        members: dict[str, list[Resource]] = defaultdict(list)
        for r in self.resources:
            owner = self.owner(r.urn)
            if owner is None:
                continue
            if owner.startswith("vpc:"):
                vpc = vpcs.setdefault(owner, Vpc(self.by_urn[owner[4:]], r.region or "-"))
                if r.type != VPC:
                    vpc.members.append(r)
                continue
            members[owner].append(r)
        nodes: dict[str, Node] = {}
        for i, (owner, rs) in enumerate(members.items()):
            own = self.by_urn.get(owner)
            rs.sort(key=lambda r: r.urn != owner)
            kind = ALARM if own is None else own.type
            group = rs[0].parent
            nodes[owner] = Node(f"n{i}", kind, rs[0].region or "-", rs, group=group)
        edges = self._edges(nodes)
        self._place(nodes, vpcs)
        for node in nodes.values():
            node.title, node.details = _describe(node, self)
        primary = self.graph.outputs.get("primary_region") if isinstance(self.graph.outputs, dict) else None
        if primary not in regions:
            sources = [n.region for n in nodes.values() if any(r.type == BUCKET_REPLICATION for r in n.resources)]
            primary = sources[0] if sources else None
        if primary:
            regions = [primary, *[r for r in regions if r != primary]]
        id_of = {owner: n.id for owner, n in nodes.items()}
        return Diagram(
            stack=self.graph.stack,
            regions=regions,
            primary=primary,
            nodes={n.id: n for n in nodes.values()},
            edges=[Edge(id_of[e.src], id_of[e.dst], e.kind, e.label, e.actions) for e in edges],
            vpcs=vpcs,
            components=self.components,
        )

    def _regions(self) -> list[str]:
        """Configured order when the stack exports it (the program's ``regions`` output), else by name."""
        present = {r.region for r in self.resources if r.region}
        outputs = self.graph.outputs if isinstance(self.graph.outputs, dict) else {}
        configured = outputs.get("regions")
        ordered = [r for r in configured if r in present] if isinstance(configured, list) else []
        return ordered + sorted(present - set(ordered))

    # --- edges: the references of every resource in a box, between boxes ----------------------------------
    def _edges(self, nodes: dict[str, Node]) -> list[Edge]:
        edges: dict[tuple[str, str], Edge] = {}
        for owner, node in nodes.items():
            for r in node.resources:
                for path, target in self.refs[r.urn]:
                    dst = self.owner(target)
                    if dst is None or dst == owner or dst not in nodes:
                        continue
                    if KMS_KEY in (node.kind, nodes[dst].kind):
                        continue  # every encrypted box would point at its key: counted on the key instead
                    kind, label = _edge_kind(r, path, nodes[dst].kind)
                    edge = edges.get((owner, dst))
                    if edge is None or _RANK[kind] > _RANK[edge.kind]:
                        edge = Edge(owner, dst, kind, label, edge.actions if edge else set())
                        edges[(owner, dst)] = edge
                    if r.type == ROLE_POLICY and path[-1:] == ("Resource",):
                        edge.actions |= _actions_on(r, target, self.refs_index)
        return list(edges.values())

    # --- placement: VPC and tier from what a box references, else its component ---------------------------
    def _place(self, nodes: dict[str, Node], vpcs: dict[str, Vpc]) -> None:
        tiers = {owner: self._subnet_tier(node, nodes) for owner, node in nodes.items() if node.kind == SUBNET}
        subnets_first = sorted(nodes.items(), key=lambda item: item[1].kind != SUBNET)
        for owner, node in subnets_first:
            targets = {t for r in node.resources for _, t in self.refs[r.urn]}
            owners = {self.owner(t) for t in targets}
            if node.kind == SUBNET:
                node.tier = tiers[owner]
            elif node.kind == ROUTE_TABLE:
                subnet_tiers = {tiers[s] for s in self._subnets_routed_by(owner, nodes)}
                node.tier = subnet_tiers.pop() if len(subnet_tiers) == 1 else None
            else:
                subnet_tiers = {tiers[o] for o in owners if o in tiers}
                node.tier = subnet_tiers.pop() if len(subnet_tiers) == 1 else None
            in_vpc = [o for o in owners if o and o.startswith("vpc:")]
            in_vpc += [v for o in owners if o in tiers and (v := nodes[o].vpc)]
            if node.kind == SUBNET or in_vpc:
                node.vpc = next((v for v in in_vpc if v in vpcs), None)
            if node.vpc is None:
                node.tier = None

    def _subnet_tier(self, node: Node, nodes: dict[str, Node]) -> str:
        """Public when its route table sends traffic to an internet gateway: the definition, not a tag."""
        for r in node.resources:
            if r.type != ROUTE_TABLE_ASSOCIATION:
                continue
            for _, table in self.refs[r.urn]:
                table_owner = self.owner(table)
                if table_owner in nodes and nodes[table_owner].kind == ROUTE_TABLE:
                    for route in nodes[table_owner].resources:
                        for _, hop in self.refs[route.urn]:
                            if self.by_urn[hop].type == INTERNET_GATEWAY:
                                return "public"
                    return "private"
        tier = (node.resource.inputs.get("tags") or {}).get("Tier")
        if isinstance(tier, str):
            return tier.lower()
        return "public" if node.resource.inputs.get("mapPublicIpOnLaunch") else "private"

    def _subnets_routed_by(self, table: str, nodes: dict[str, Node]) -> list[str]:
        return [
            owner
            for owner, node in nodes.items()
            if node.kind == SUBNET
            and any(self.owner(t) == table for r in node.resources if r.type != SUBNET for _, t in self.refs[r.urn])
        ]


# Which relation an edge shows, strongest first when several references join the same two boxes.
_RANK = {"replication": 6, "route": 5, "notify": 4, "logs": 4, "access": 3, "placement": 2, "watch": 1, "ref": 0}


def _edge_kind(r: Resource, path: tuple[str, ...], target_kind: str) -> tuple[str, str]:
    if r.type == BUCKET_REPLICATION:
        minutes = _replication_minutes(r)
        return "replication", f"replication · RTC {minutes} min" if minutes else "replication"
    if r.type == ROUTE:
        return "route", str(r.inputs.get("destinationCidrBlock") or r.inputs.get("destinationIpv6CidrBlock") or "")
    if r.type == ROUTE_TABLE_ASSOCIATION:
        return "route", ""
    if r.type == BUCKET_LOGGING:
        return "logs", "access logs"
    if r.type == FLOW_LOG:
        return "logs", "flow logs"
    if r.type == ALARM:
        return ("notify", "alarm / ok") if path[0].endswith("Actions") else ("watch", "")
    if r.type == ROLE_POLICY:
        return "access", ""
    if target_kind == SUBNET:
        return "placement", ""
    return "ref", ""


def _replication_minutes(r: Resource) -> int | None:
    for rule in r.inputs.get("rules") or []:
        minutes = (((rule.get("destination") or {}).get("replicationTime") or {}).get("time") or {}).get("minutes")
        if minutes is not None:
            return int(minutes)
    return None


def policy_statements(raw: Any) -> list[dict[str, Any]]:
    """The statements of a policy document given as JSON text or already parsed; [] when unreadable."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, dict):
        return []
    statements = raw.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _actions_on(policy: Resource, target: str, refs: References) -> set[str]:
    actions: set[str] = set()
    for st in policy_statements(policy.inputs.get("policy")):
        if st.get("Effect", "Allow") != "Allow":
            continue
        if any(refs.resolve(policy, str(res)) == target for res in as_list(st.get("Resource"))):
            actions.update(str(a) for a in as_list(st.get("Action")))
    return actions


# --- labels --------------------------------------------------------------------------------------------------
def _first(resources: list[Resource], token: str) -> Resource | None:
    return next((r for r in resources if r.type == token), None)


def _physical(node: Node, _: _Builder) -> list[str]:
    return [node.name]


def _subnet(node: Node, _: _Builder) -> list[str]:
    ins = node.resource.inputs
    return [" · ".join(str(v) for v in (ins.get("cidrBlock"), ins.get("availabilityZone")) if v)]


def _route_table(node: Node, b: _Builder) -> list[str]:
    """Its routes by destination and next hop, and the gateway endpoints that add routes to it."""
    details: list[str] = []
    for route in (m for m in node.resources if m.type == ROUTE):
        hops = [b.by_urn[t] for p, t in b.refs[route.urn] if p != ("routeTableId",)]
        hop = TITLES.get(hops[0].type, short_type(hops[0].type)) if hops else "?"
        details.append(f"{route.inputs.get('destinationCidrBlock', '?')} → {hop}")
    for endpoint in (b.by_urn[u] for u in b.referrers[node.resource.urn]):
        if endpoint.type == VPC_ENDPOINT:
            svc = str(endpoint.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
            details.append(f"{svc} → gateway endpoint")
    return details or ["local routes only"]


def _log_group(node: Node, _: _Builder) -> list[str]:
    days = node.resource.inputs.get("retentionInDays")
    return [node.name, f"retention {int(days)} days" if days else "no retention!"]


def _asg(node: Node, _: _Builder) -> list[str]:
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


def _bucket(node: Node, _: _Builder) -> list[str]:
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


def _function(node: Node, _: _Builder) -> list[str]:
    ins = node.resource.inputs
    arch = ",".join(str(a) for a in as_list(ins.get("architectures")))
    return [node.name, " · ".join(v for v in (str(ins.get("runtime", "")), arch) if v)]


def _topic(node: Node, _: _Builder) -> list[str]:
    subs = sum(1 for m in node.resources if m.type == TOPIC_SUBSCRIPTION)
    encrypted = "encrypted" if node.resource.inputs.get("kmsMasterKeyId") else "not encrypted"
    return [node.name, encrypted, f"{subs} subscription(s)" if subs else ""]


def _key(node: Node, b: _Builder) -> list[str]:
    alias = _first(node.resources, KMS_ALIAS)
    users = sum(1 for keys in b.key_users.values() if node.resource.urn in keys)
    return [
        str(alias.inputs.get("name")) if alias else node.name,
        "rotation on" if node.resource.inputs.get("enableKeyRotation") else "rotation off",
        f"encrypts for {users} resources",
    ]


def _alarms(node: Node, b: _Builder) -> list[str]:
    """Short alarm names (the component's name stripped), three per line."""
    parent = b.components.get(node.group or "")
    prefix = f"{parent.name}-" if parent else ""
    names = sorted(m.name.removeprefix(prefix) for m in node.resources)
    return [" · ".join(names[i : i + 3]) for i in range(0, len(names), 3)]


_DETAILS: dict[str, Callable[[Node, _Builder], list[str]]] = {
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


def _describe(node: Node, b: _Builder) -> tuple[str, list[str]]:
    title = TITLES.get(node.kind, short_type(node.kind))
    if node.kind == SUBNET and node.tier:
        title = f"{node.tier} {title}"
    details = _DETAILS.get(node.kind, _physical)(node, b)
    return title, [d for d in details if d]


def _key_users_of(b: _Builder) -> dict[str, set[str]]:
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


def build(graph: Graph) -> Diagram:
    """The boxes, edges and clusters of a graph; pure, so its shape is tested without Graphviz."""
    return _Builder(graph).build()


# --- DOT ------------------------------------------------------------------------------------------------------
def _label(title: str, details: list[str]) -> str:
    """A Graphviz HTML label: bold title, small detail lines; every text escaped, names are data."""
    lines = [f'<B><FONT POINT-SIZE="11">{html.escape(title)}</FONT></B>']
    lines += [f'<FONT POINT-SIZE="9">{html.escape(d)}</FONT>' for d in details]
    return "<" + "<BR/>".join(lines) + ">"


EDGE_STYLE: dict[str, dict[str, str]] = {
    "replication": {"color": "#3f8624", "penwidth": "2.4", "fontcolor": "#2d6a1a", "style": "bold"},
    "route": {"color": "#3b73b9", "fontcolor": "#3b73b9"},
    "notify": {"color": "#c7136f", "fontcolor": "#c7136f"},
    "logs": {"color": "#7a5cb8", "fontcolor": "#7a5cb8", "style": "dashed"},
    "access": {"color": "#d86613", "fontcolor": "#a04a0c"},
    "placement": {"color": "#8a9bb0", "style": "dashed", "arrowhead": "none"},
    "watch": {"color": "#c7136f", "style": "dotted", "arrowhead": "none"},
    "ref": {"color": "#666666"},
}


def _tooltip(edge: Edge, nodes: dict[str, Node]) -> str:
    src, dst = nodes[edge.src], nodes[edge.dst]
    what = f"{src.title} → {dst.title}"
    if edge.actions:
        return f"{what}: " + ", ".join(sorted(edge.actions))
    return f"{what}: {edge.label}" if edge.label else what


def _access_label(actions: set[str]) -> str:
    """``s3:GetObject, s3:PutObject`` -> ``GetObject, PutObject``; many actions -> ``s3: 6 actions``."""
    if not actions:
        return ""
    services = sorted({a.split(":")[0] for a in actions})
    if len(actions) <= 2:
        return ", ".join(sorted(a.split(":")[-1] for a in actions))
    return f"{'/'.join(services)}: {len(actions)} actions"


def to_dot(diagram: Diagram) -> graphviz.Digraph:
    """Clusters: region (primary marked) > VPC > public/private tier; other boxes grouped by component."""
    dot = graphviz.Digraph(diagram.stack, engine="dot")
    dot.attr(
        rankdir="LR",
        fontname="Helvetica",
        nodesep="0.25",
        ranksep="0.6",
        newrank="true",
        label=f"TapStack · stack {diagram.stack} · {len(diagram.regions)} region(s)",
        labelloc="t",
        fontsize="18",
    )
    dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", margin="0.12,0.06")
    dot.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.7")
    for region in diagram.regions:
        primary = region == diagram.primary
        with dot.subgraph(name=f"cluster_region_{_slug(region)}") as rg:
            role = " · primary" if primary else (" · secondary" if diagram.primary else "")
            rg.attr(
                label=f"{region}{role}",
                style="rounded,bold" if primary else "rounded",
                color="#232f3e" if primary else "#8a8a8a",
                penwidth="2.5" if primary else "1.2",
                fontsize="16",
                bgcolor="#ffffff",
            )
            nodes = diagram.nodes_in(region)
            for vpc_urn, vpc in diagram.vpcs.items():
                if vpc.region == region:
                    _vpc_cluster(rg, vpc_urn, vpc, [n for n in nodes if n.vpc == vpc_urn])
            outside = [n for n in nodes if n.vpc is None]
            by_group: dict[str | None, list[Node]] = defaultdict(list)
            for n in outside:
                by_group[n.group].append(n)
            for group, members in by_group.items():
                component = diagram.components.get(group or "")
                if component is None or len(members) < 2:
                    for n in members:
                        _node(rg, n)
                    continue
                with rg.subgraph(name=f"cluster_{members[0].id}_group") as cg:
                    cg.attr(label=f"{component.type.rsplit(':', 1)[-1]} · {component.name}", style="rounded,dashed")
                    cg.attr(color="#9aa5b1", fontsize="10")
                    for n in members:
                        _node(cg, n)
    for e in diagram.edges:
        style = dict(EDGE_STYLE[e.kind])
        label = e.label or (_access_label(e.actions) if e.kind == "access" else "")
        if label:
            style["label"] = label
        dot.edge(e.src, e.dst, tooltip=_tooltip(e, diagram.nodes), **style)
    return dot


def _vpc_cluster(parent: graphviz.Digraph, urn: str, vpc: Vpc, nodes: list[Node]) -> None:
    nacls = [m for m in vpc.members if m.type == NETWORK_ACL]
    rules = [m for m in vpc.members if m.type == NETWORK_ACL_RULE]
    cidr = vpc.resource.inputs.get("cidrBlock", "")
    facts = [f"{len(nacls)} NACLs ({len(rules)} rules)" if nacls else "no NACLs"]
    if any(m.type == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup" for m in vpc.members):
        facts.append("default SG emptied")
    with parent.subgraph(name=f"cluster_vpc_{_slug(urn)}") as vg:
        vg.attr(label=f"VPC {cidr} · {' · '.join(facts)}", style="rounded", color="#3b73b9", bgcolor="#f7fafe")
        vg.attr(fontsize="11")
        for tier in ("public", "private"):
            members = [n for n in nodes if n.tier == tier]
            if not members:
                continue
            with vg.subgraph(name=f"cluster_vpc_{_slug(urn)}_{tier}") as tg:
                fill = "#eef7ee" if tier == "public" else "#eef2fa"
                tg.attr(label=f"{tier} tier", style="rounded,filled", color="#b9c6d6", fillcolor=fill, fontsize="10")
                for n in members:
                    _node(tg, n)
        for n in nodes:
            if n.tier not in ("public", "private"):
                _node(vg, n)


def _node(parent: graphviz.Digraph, node: Node) -> None:
    fill, border = PALETTE.get(service(node.kind), DEFAULT_COLORS)
    tooltip = "\n".join(sorted({short_type(r.type) for r in node.resources}))
    parent.node(node.id, _label(node.title, node.details), fillcolor=fill, color=border, tooltip=tooltip)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text)[-60:]


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(graph: Graph, fmt: str = "svg") -> bytes:
    """The diagram as DOT source, SVG or PNG; raises GraphvizMissing for svg/png without `dot`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")
    source = to_dot(build(graph))
    if fmt == "dot":
        text: str = source.source
        return text.encode()
    if not dot_available():
        raise GraphvizMissing()
    try:
        data: bytes = source.pipe(format=fmt)
        return data
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing() from None
