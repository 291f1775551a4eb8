"""The resource graph: what a program registered, shared by synth, check, diagram and the emulator.

JSON form: ``{"stack", "resources": [{"urn", "type", "name", "region", "provider", "parent",
"dependencies", "inputs", "outputs"}], "outputs"}`` with the engine's camelCase property names.

Also the queries the libraries share over it: which resource an input value names (``References``), the
statements of a policy document, and the one "one or many" reading of JSON fields (``as_list``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .resource_types import refined_key
from .resource_types import short_type as short_type  # the graph's vocabulary, imported from here by the tools

PROVIDER_PREFIX = "pulumi:providers:"
SECRET_PLACEHOLDER = "[secret]"
"""What a secret output or input reads as in a graph written without ``--show-secrets``."""


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    region: str | None = None
    provider: str | None = None
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    custom: bool = True
    aliases: list[str] = field(default_factory=list)
    """The URNs this resource answers to besides its own (what the engine would match in an existing stack)."""

    def to_dict(self) -> dict[str, Any]:
        """The resource's JSON form; ``aliases`` only when it has some, so alias-free graphs read as before."""
        data = asdict(self)
        if not self.aliases:
            del data["aliases"]
        return data

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_PREFIX)

    @property
    def is_component(self) -> bool:
        return not self.custom

    def prop(self, key: str, default: Any = None) -> Any:
        """An input, else the output of the same name (the engine may fill in defaults)."""
        if key in self.inputs and self.inputs[key] is not None:
            return self.inputs[key]
        return self.outputs.get(key, default)


@dataclass
class Graph:
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def aws_resources(self) -> list[Resource]:
        """Custom AWS resources (not providers, not components)."""
        return [r for r in self.resources if r.custom and r.type.startswith("aws:")]

    def counts(self) -> Counter[tuple[str, str]]:
        """Resources per (type, region), for the synth summary."""
        return Counter((r.type, r.region or "-") for r in self.aws_resources())

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "resources": [r.to_dict() for r in self.resources], "outputs": self.outputs}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        if not isinstance(data, dict) or "resources" not in data:
            raise ValueError("not a TapStack graph: expected an object with 'resources'")
        known = {f for f in Resource.__dataclass_fields__}
        resources = [Resource(**{k: v for k, v in r.items() if k in known}) for r in data["resources"]]
        return cls(stack=data.get("stack", "unknown"), resources=resources, outputs=data.get("outputs", {}))

    @classmethod
    def read(cls, path: Path) -> Graph:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err})") from None


def as_list(value: Any) -> list[Any]:
    """A field that AWS JSON allows as one value or a list (``Action``, ``Resource``), as a list; None is []."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_statements(raw: Any) -> list[dict[str, Any]]:
    """The statements of a policy document given as JSON text or already parsed; [] when unreadable."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, dict):
        return []
    return [s for s in as_list(raw.get("Statement", [])) if isinstance(s, dict)]


CONTEXT_KEYS = frozenset({"tags", "tagsAll", "environment", "code", "description"})
"""Inputs that tell a resource about others without giving it any relation a reader should follow."""


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
            for st in as_list(value["Statement"]):
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
            key = refined_key(r.type)
            borrowed = r.inputs.get(key) if key else None  # a topic policy's `arn` is the topic's
            for attr in ("id", "arn", "name", "bucket"):
                value = r.outputs.get(attr) or r.inputs.get(attr)
                if isinstance(value, str) and value and value != borrowed:
                    self.index[value].add(r.urn)
                    if attr in r.inputs:
                        self.own_keys[r.urn].add(attr)
            default_acl = r.outputs.get("defaultNetworkAclId")  # a VPC's own ACL: adopting it refines the VPC
            if isinstance(default_acl, str) and default_acl:
                self.index[default_acl].add(r.urn)

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
