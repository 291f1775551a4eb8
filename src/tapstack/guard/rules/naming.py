"""TAP008: physical names that say which environment and region they belong to, and that AWS accepts.

A name without the environment suffix collides with (or, worse, silently adopts) another stack's resource
in the same account; a regional resource without its region code is indistinguishable across regions in
every console, bill and alarm. Which input holds each type's name, and its scope, come from the type registry
(``resource_types``); limits from ``lib/naming.NameKind``, the same table the program uses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from ...graph import Graph, Resource
from ...lib.naming import normalize
from ...resource_types import GLOBAL_BUCKETS, Naming, lookup
from ..facts import Index, is_unknown, region_code_of
from ..model import Context, Finding, Scope, Severity, rule

_SEGMENT = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def auto_named(resource: Resource, name: str) -> bool:
    """Pulumi's autoname (``<logical name>-<7 hex>``): what a resource's state shows when no name was given,
    which is all CrossGuard's stack policies can see. Unique by construction, so not judged."""
    return re.fullmatch(re.escape(resource.name) + r"-[0-9a-f]{7}", name) is not None


def _tokens(name: str) -> str:
    """``/tapstack/flowlogs/use1/dev`` -> ``-tapstack-flowlogs-use1-dev-``: word boundaries made explicit."""
    return "-" + "-".join(t for t in re.split(r"[^a-z0-9]+", name.lower()) if t) + "-"


def _normalized(name: str, named: Naming) -> bool:
    segments = name.split("/")
    if named.path_like:
        segments = [s for i, s in enumerate(segments) if s or i == 0]  # a leading "/" is fine
        segments = [s for s in segments if s]
    return bool(segments) and all(_SEGMENT.match(s) for s in segments)


def _name_findings(
    resource: Resource, name: str, named: Naming, suffix: str | None, region: str | None
) -> Iterator[Finding]:
    if not _normalized(name, named):
        fixed = "/".join(normalize(s) for s in name.split("/")) if named.path_like else normalize(name)
        yield Finding(
            resource,
            f"name {name!r} is not normalized (lowercase letters, digits, single dashes): use {fixed!r}",
            severity=Severity.MEDIUM,
        )
    if len(name) > named.kind.limit:
        yield Finding(resource, f"name {name!r} has {len(name)} characters; AWS allows {named.kind.limit}")
    tokens = _tokens(name)
    if suffix and f"-{suffix.lower()}-" not in tokens:
        yield Finding(
            resource,
            f"name {name!r} does not carry the environment suffix {suffix!r}: two stacks in one account collide",
        )
    code = region_code_of(region)
    if named.regional and code and f"-{code}-" not in tokens and f"-{region}-" not in tokens:
        yield Finding(resource, f"name {name!r} of a resource in {region} does not carry the region code {code!r}")


@rule(
    "TAP008",
    title="Environment- and region-scoped physical names",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed=(
        "seed 003 #8: bucket=f'{name}-lambda-logs-{account_id}': a predictable name without the stack's "
        "environment suffix, never normalized"
    ),
    remediation=(
        "build every physical name with StackConfig.name()/lib.naming.physical_name: "
        "<project>-<what>[-<region code>][-<account>]-<suffix>"
    ),
)
def scoped_names(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Physical names carry the environment suffix (and the region code where the resource is regional), are
    normalized, within AWS length limits and unique in the stack."""
    index = Index(graph)
    seen: dict[tuple[str, ...], list[Resource]] = defaultdict(list)
    for resource in graph.aws_resources():
        known = lookup(resource.type)
        named = known.naming if known else None
        name = resource.prop(named.prop) if named else None
        if named is None or not isinstance(name, str) or is_unknown(name) or auto_named(resource, name):
            continue  # no name given, so Pulumi picks a unique one
        region = index.region_of(resource)
        yield from _name_findings(resource, name, named, ctx.environment_suffix, region)
        # bucket names are unique worldwide, IAM names account-wide, everything else per region
        everywhere = named.namespace == GLOBAL_BUCKETS or not named.regional
        seen[(named.namespace or resource.type, "*" if everywhere else region or "?", name)].append(resource)
    for (_, _, name), holders in seen.items():
        holders.sort(key=lambda r: r.name)
        for duplicate in holders[1:]:
            yield Finding(
                duplicate,
                f"name {name!r} is also used by {holders[0].name!r}: the second create fails (or adopts the first)",
                severity=Severity.CRITICAL,
            )
