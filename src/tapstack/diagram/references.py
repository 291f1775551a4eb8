"""Which relation each reference shows: the edges between boxes, their kind and label.

Several references may join the same two boxes (a Lambda's role names a bucket in three statements); the
edge keeps the strongest kind (``RANK``) and, for IAM access, the union of the actions granted.
"""

from __future__ import annotations

from ..graph import References, Resource, as_list, policy_statements
from ..resource_types import (
    ALARM,
    BUCKET_LOGGING,
    BUCKET_REPLICATION,
    FLOW_LOG,
    KMS_KEY,
    ROLE_POLICY,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
)
from .model import Edge, Folding, Node

# Which relation an edge shows, strongest first when several references join the same two boxes.
RANK = {"replication": 6, "route": 5, "notify": 4, "logs": 4, "access": 3, "placement": 2, "watch": 1, "ref": 0}


def edge_kind(r: Resource, path: tuple[str, ...], target_kind: str) -> tuple[str, str]:
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


def _actions_on(policy: Resource, target: str, refs: References) -> set[str]:
    actions: set[str] = set()
    for st in policy_statements(policy.inputs.get("policy")):
        if st.get("Effect", "Allow") != "Allow":
            continue
        if any(refs.resolve(policy, str(res)) == target for res in as_list(st.get("Resource"))):
            actions.update(str(a) for a in as_list(st.get("Action")))
    return actions


def edges(b: Folding, nodes: dict[str, Node]) -> list[Edge]:
    """One edge per pair of boxes, of the strongest kind among the references joining them."""
    found: dict[tuple[str, str], Edge] = {}
    for owner, node in nodes.items():
        for r in node.resources:
            for path, target in b.refs[r.urn]:
                dst = b.owner(target)
                if dst is None or dst == owner or dst not in nodes:
                    continue
                if KMS_KEY in (node.kind, nodes[dst].kind):
                    continue  # every encrypted box would point at its key: counted on the key instead
                kind, label = edge_kind(r, path, nodes[dst].kind)
                edge = found.get((owner, dst))
                if edge is None or RANK[kind] > RANK[edge.kind]:
                    edge = Edge(owner, dst, kind, label, edge.actions if edge else set())
                    found[(owner, dst)] = edge
                if r.type == ROLE_POLICY and path[-1:] == ("Resource",):
                    edge.actions |= _actions_on(r, target, b.refs_index)
    return list(found.values())
