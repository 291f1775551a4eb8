"""TAP007: no deprecated resource types or arguments.

What is deprecated is read from the installed pulumi-aws SDK itself (its deprecated classes and the
``@deprecated`` marks on its properties), so the rule follows each provider upgrade without a list to
maintain. Only what AWS retired but the SDK does not mark is named here.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pulumi

from ...graph import Graph
from ..model import Context, Finding, Scope, Severity, rule

RETIRED_BY_AWS: dict[str, str] = {
    "aws:ec2/launchConfiguration:LaunchConfiguration": (
        "AWS stopped offering launch configurations to new accounts and gives them no new instance types; "
        "use aws.ec2.LaunchTemplate"
    ),
}


@dataclass(frozen=True)
class Deprecations:
    resource: str | None = None
    """Why the type itself is deprecated, or None."""
    properties: dict[str, str] = field(default_factory=dict)
    """Engine property name (camelCase, as in the graph) -> why it is deprecated."""


def _resource_class(token: str) -> type | None:
    package, module, name = token.split(":", 2)
    if package != "aws":
        return None
    top = module.split("/")[0]
    candidates = ["pulumi_aws"] if top == "index" else [f"pulumi_aws.{top}", f"pulumi_aws.{top}_"]
    for module_name in candidates:
        try:
            found = getattr(importlib.import_module(module_name), name, None)
        except ImportError:
            continue
        if isinstance(found, type) and pulumi.get_type_token(found) == token:
            return found
    return None


def _class_message(cls: type) -> str | None:
    """The SDK announces a deprecated type with ``pulumi.log.warn("<Class> is deprecated: ...")`` on creation
    (read from the module file: tokenizing it with inspect.getsource costs 0.3 s per large module)."""
    source = Path(inspect.getfile(cls)).read_text()
    found = re.search(rf'pulumi\.log\.warn\("""{cls.__name__} is deprecated: (.*?)"""\)', source, re.S)
    return found.group(1).strip() if found else None


def _property_messages(cls: type) -> dict[str, str]:
    """Getters wrapped by the SDK's ``@deprecated`` carry a marker, their engine name (from
    ``@pulumi.getter``) and the message in their closure."""
    messages: dict[str, str] = {}
    for klass in cls.__mro__:
        for value in vars(klass).values():
            getter = getattr(value, "fget", None)
            engine_name = getattr(getter, "_pulumi_name", None)
            if getter is None or not hasattr(getter, "_pulumi_deprecated_callable"):
                continue
            if not isinstance(engine_name, str):
                continue
            cells = [c.cell_contents for c in getter.__closure__ or ()]
            messages[engine_name] = next((c for c in cells if isinstance(c, str)), "deprecated")
    return messages


@functools.cache
def deprecations(token: str) -> Deprecations:
    """What the installed SDK says is deprecated about one resource type."""
    if token in RETIRED_BY_AWS:
        return Deprecations(resource=RETIRED_BY_AWS[token])
    try:
        cls = _resource_class(token)
        if cls is None:
            return Deprecations()
        return Deprecations(resource=_class_message(cls), properties=_property_messages(cls))
    except (OSError, TypeError, ValueError):  # source not available: nothing we can say
        return Deprecations()


@rule(
    "TAP007",
    title="No deprecated resources or arguments",
    severity=Severity.MEDIUM,
    scope=Scope.RESOURCE,
    seed=(
        "seed 000 #4 and 003 #5: aws.s3.BucketV2 and inline versioning={'enabled': True}, lifecycle_rules "
        "and "
        "encryption on the bucket resource"
    ),
    remediation=("use the current resource the deprecation message names (pulumi-aws v7: aws.s3.Bucket + companions)"),
)
def current_api(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """No resource type or argument that the installed pulumi-aws (or AWS) marks as deprecated."""
    for resource in graph.aws_resources():
        known = deprecations(resource.type)
        if known.resource:
            yield Finding(resource, f"{resource.type} is deprecated: {known.resource}")
        for key in sorted(resource.inputs):
            if key in known.properties and resource.inputs[key] not in (None, [], {}):
                yield Finding(resource, f"{resource.name!r} sets {key!r}: {known.properties[key]}")
