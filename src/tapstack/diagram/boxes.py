"""Folding: which box each resource is drawn in, which VPC and tier a box sits in, and the finished Diagram.

A resource that only refines another one (a route, a bucket's versioning) joins that one's box; one that
serves a single user (a role, a launch template) joins its user's box; a VPC becomes a cluster. Everything
is derived from references in the inputs (``graph.References``), never from resource names.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from ..graph import Graph, References, Resource
from ..resource_types import (
    ALARM,
    BUCKET_REPLICATION,
    INTERNET_GATEWAY,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    VPC,
    lookup,
    refined_key,
)
from . import references
from .labels import describe, key_users_of
from .model import Diagram, Edge, Node, Vpc


class Builder:
    """Each resource's references, and from them which box (or VPC cluster) it belongs to."""

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
        return key_users_of(self)

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
        elif (key := refined_key(r.type)) is not None:
            target = next((t for path, t in self.refs[urn] if path[:1] == (key,)), None)
            if target is not None:
                result = self.owner(target, seen)
        elif (known := lookup(r.type)) is not None and known.serves:
            users = {self.owner(u, seen) for u in self.referrers[urn] if not self._refines(u, urn)}
            users.discard(None)
            if len(users) == 1:
                result = users.pop()
        self._owner[urn] = result
        return result

    def _refines(self, urn: str, target: str) -> bool:
        """Whether ``urn`` is an attachment of ``target`` (a role's policy), as opposed to a user of it."""
        key = refined_key(self.by_urn[urn].type)
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
        edges = references.edges(self, nodes)
        self._place(nodes, vpcs)
        for node in nodes.values():
            node.title, node.details = describe(node, self)
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
            edges=[Edge(id_of[e.src], id_of[e.dst], e.kind, e.label, e.actions, e.objects) for e in edges],
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


def build(graph: Graph) -> Diagram:
    """The boxes, edges and clusters of a graph; pure, so its shape is tested without Graphviz."""
    return Builder(graph).build()
