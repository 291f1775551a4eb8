"""Reading resource properties the way every rule needs to: tolerant of absent and not-yet-known values.

Values come from three places with three habits: the synthesized graph (booleans sometimes as the strings
"true"/"false", numbers as floats), a graph.json (the same), and the Pulumi engine during preview (unknown
values, which the CrossGuard adapter turns into ``UNKNOWN``). A rule asks "is this known to be true?" and
never guesses: an unknown value is neither a violation nor a pass, it is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..graph import PROVIDER_PREFIX, Graph, Resource
from ..lib.regions import REGION_CODES

UNKNOWN = "[unknown]"
"""What the CrossGuard adapter substitutes for a value the engine cannot know during preview."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def flag(value: Any) -> bool | None:
    """True/False for a known boolean (or its string form), None when absent or unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def items(value: Any) -> list[Any]:
    """A list property as a list: absent or unknown is empty, a single object is a list of one."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, list | tuple):
        return [v for v in value if not is_unknown(v)]
    return [value]


def dig(value: Any, *path: str) -> Any:
    """``dig(props, "a", "b")``: props["a"]["b"]; None as soon as a level is missing or not an object, and
    ``UNKNOWN`` if a level is unknown (an unknown object has unknown fields)."""
    for key in path:
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def strings(value: Any) -> list[str]:
    return [v for v in items(value) if isinstance(v, str)]


def region_code_of(region: str | None) -> str | None:
    return REGION_CODES.get(region) if region else None


class Index:
    """Lookups over one graph: resources by type, and which resource a property value refers to.

    References are matched by value (an id, ARN or bucket name in the referring property) and, when the
    value is unknown during preview, by the dependency the engine recorded for that property.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_urn: dict[str, Resource] = {}
        self._by_ref: dict[str, list[Resource]] = defaultdict(list)
        for resource in graph.resources:
            self._by_type[resource.type].append(resource)
            self._by_urn[resource.urn] = resource
            for ref in self.references(resource):
                self._by_ref[ref].append(resource)

    @staticmethod
    def references(resource: Resource) -> set[str]:
        """Every string another resource may use to point at this one."""
        refs: set[str] = set()
        for key in ("id", "arn", "bucket"):
            value = resource.prop(key)
            if isinstance(value, str) and known(value) and value:
                refs.add(value)
        arn = resource.prop("arn")
        if isinstance(arn, str) and "/" in arn and resource.type.startswith("aws:ec2/"):
            refs.add(arn.rsplit("/", 1)[1])  # EC2 ids are the tail of their ARN
        return refs

    def of_type(self, *types: str) -> list[Resource]:
        return [r for t in types for r in self._by_type.get(t, [])]

    def by_urn(self, urn: str | None) -> Resource | None:
        return self._by_urn.get(urn) if urn else None

    def resolve(self, value: Any, types: Iterable[str], referrer: Resource | None = None) -> Resource | None:
        """The resource of one of ``types`` that ``value`` names; for an unknown value, the referrer's only
        dependency of those types (what the engine knows about the link during preview)."""
        wanted = set(types)
        if isinstance(value, str) and known(value):
            for candidate in self._by_ref.get(value, []):
                if candidate.type in wanted:
                    return candidate
            return None
        if referrer is not None and is_unknown(value):
            deps = [d for d in (self.by_urn(u) for u in referrer.dependencies) if d is not None and d.type in wanted]
            if len(deps) == 1:
                return deps[0]
        return None

    def refers(self, value: Any, target: Resource, referrer: Resource | None = None) -> bool:
        """Whether ``value`` (found in ``referrer``) names ``target``."""
        found = self.resolve(value, (target.type,), referrer)
        return found is not None and found.urn == target.urn

    def points_to(self, referrer: Resource, key: str, target: Resource) -> bool:
        """Whether ``referrer.<key>`` names ``target``."""
        return self.refers(referrer.prop(key), target, referrer)

    def pointing_at(self, target: Resource, key: str, *types: str) -> list[Resource]:
        """Resources of ``types`` whose ``key`` property names ``target`` (a bucket's companions)."""
        return [r for r in self.of_type(*types) if self.points_to(r, key, target)]

    def provider_of(self, resource: Resource) -> Resource | None:
        return self.by_urn(resource.provider)

    def region_of(self, resource: Resource) -> str | None:
        if resource.region:
            return resource.region
        provider = self.provider_of(resource)
        region = provider.prop("region") if provider is not None else None
        return region if isinstance(region, str) and known(region) else None

    def regions(self) -> list[str]:
        """Regions of the AWS providers, sorted (registration order is not deterministic)."""
        found = {r.prop("region") for r in self.graph.resources if r.type == f"{PROVIDER_PREFIX}aws"}
        return sorted(r for r in found if isinstance(r, str) and known(r))

    def primary_region(self) -> str | None:
        """The primary region when the stack says which one it is (TapStack exports ``primary_region``)."""
        for key in ("primary_region", "primaryRegion"):
            value = self.graph.outputs.get(key)
            if isinstance(value, str) and value in self.regions():
                return value
        return None
