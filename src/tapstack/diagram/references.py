"""Which relation each reference shows: the edges between boxes, their kind and label.

Several references may join the same two boxes (a Lambda's role names a bucket in three statements); the
edge keeps the strongest kind (``RANK``) and, for IAM access, the union of the actions granted. Access to a
bucket's objects is labelled with the keys granted and how (read / write), from the policy statements
themselves, so the release path shows as it is scoped: instances read ``releases/current.json`` and
``artifacts/`` and write only their own heartbeat. Who acts is named when the box's instances are told the
bucket in their user data (the agent's configuration file): its file name, e.g. ``agent``.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from pathlib import PurePosixPath
from typing import Any

from ..graph import References, Resource, as_list, policy_statements
from ..resource_types import (
    ALARM,
    BUCKET,
    BUCKET_LOGGING,
    BUCKET_REPLICATION,
    FLOW_LOG,
    KMS_KEY,
    LAUNCH_TEMPLATE,
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


READ, WRITE = "read", "write"
_READ_VERBS = ("get", "list", "head", "describe")


def _access(action: str) -> set[str]:
    """Whether an S3 action reads or writes objects (``s3:*`` does both)."""
    name = action.rsplit(":", 1)[-1].lower()
    if name.startswith("*"):
        return {READ, WRITE}
    return {READ} if name.startswith(_READ_VERBS) else {WRITE}


def _grants_on(policy: Resource, target: str, refs: References) -> tuple[set[str], dict[str, set[str]]]:
    """The actions a policy allows on ``target``, and for object ARNs (``bucket/key``) each key pattern with
    whether it is read or written."""
    actions: set[str] = set()
    objects: dict[str, set[str]] = {}
    for st in policy_statements(policy.inputs.get("policy")):
        if st.get("Effect", "Allow") != "Allow":
            continue
        granted = [str(a) for a in as_list(st.get("Action"))]
        on_target = [str(res) for res in as_list(st.get("Resource")) if refs.resolve(policy, str(res)) == target]
        if not on_target:
            continue
        actions.update(granted)
        for arn in on_target:
            if arn.startswith("arn:") and arn.split(":", 5)[2] == "s3" and "/" in arn:
                key = arn.split("/", 1)[1]
                objects.setdefault(key, set()).update(mode for a in granted for mode in _access(a))
    return actions, objects


_POLICY_VARIABLE = re.compile(r"\$\{(?:aws:)?([^}]+)\}")


def _key_label(key: str) -> str:
    """``artifacts/*`` -> ``artifacts/``; ``*`` -> ``all objects``; ``${aws:userid}`` -> ``<userid>``."""
    if key == "*":
        return "all objects"
    return _POLICY_VARIABLE.sub(lambda m: f"<{m.group(1)}>", key.removesuffix("*"))


def object_label(objects: dict[str, set[str]], actor: str = "") -> str:
    """``agent: releases/current.json, artifacts/ (read)`` and one line per other mode (write; read, write)."""
    lines = []
    for modes, text in (({READ}, "read"), ({READ, WRITE}, "read, write"), ({WRITE}, "write")):
        keys = [_key_label(k) for k, m in objects.items() if m == modes]
        if keys:
            lines.append(f"{', '.join(keys)} ({text})")
    prefix = f"{actor}: " if actor and lines else ""
    return prefix + "\n".join(lines)


def _user_data_files(template: Resource) -> list[dict[str, Any]]:
    """The ``write_files`` of a launch template's cloud-config user data; [] when it has none or is unreadable."""
    raw = template.inputs.get("userData")
    if not isinstance(raw, str):
        return []
    try:
        data = base64.b64decode(raw, validate=True)
        text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()
    except (binascii.Error, UnicodeDecodeError, OSError, EOFError):
        return []
    if not text.startswith("#cloud-config"):
        return []
    import yaml

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    files = config.get("write_files") if isinstance(config, dict) else None
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def actor(node: Node, bucket: str) -> str:
    """Who on a box's instances uses ``bucket``: the name of the user-data file that tells them the bucket
    (``/etc/tapstack/agent.json`` -> ``agent``); "" when no file names it."""
    names = [
        PurePosixPath(str(f.get("path", ""))).stem
        for template in node.resources
        if template.type == LAUNCH_TEMPLATE
        for f in _user_data_files(template)
        if bucket and bucket in str(f.get("content", ""))
    ]
    return ", ".join(dict.fromkeys(n for n in names if n))


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
                    edge = Edge(owner, dst, kind, label, edge.actions if edge else set(), edge.objects if edge else {})
                    found[(owner, dst)] = edge
                if r.type == ROLE_POLICY and path[-1:] == ("Resource",):
                    actions, objects = _grants_on(r, target, b.refs_index)
                    edge.actions |= actions
                    for key, modes in objects.items():
                        edge.objects.setdefault(key, set()).update(modes)
    for edge in found.values():
        if edge.kind == "access" and edge.objects and nodes[edge.dst].kind == BUCKET:
            edge.label = object_label(edge.objects, actor(nodes[edge.src], nodes[edge.dst].name))
    return list(found.values())
