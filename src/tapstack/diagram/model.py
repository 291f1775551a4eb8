"""The box model: boxes (a resource plus what is folded into it), edges between boxes, VPC clusters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..graph import References, Resource


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
    objects: dict[str, set[str]] = field(default_factory=dict)
    """For access to a bucket: each object key pattern granted (``artifacts/*``) -> {"read", "write"}."""


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


class Folding(Protocol):
    """What labels and edges read from the folding (``boxes.Builder``): the resources, their references, owners."""

    resources: list[Resource]
    by_urn: dict[str, Resource]
    components: dict[str, Resource]
    refs_index: References
    refs: dict[str, list[tuple[tuple[str, ...], str]]]
    referrers: dict[str, list[str]]

    @property
    def key_users(self) -> dict[str, set[str]]: ...

    def owner(self, urn: str, seen: frozenset[str] = frozenset()) -> str | None: ...
