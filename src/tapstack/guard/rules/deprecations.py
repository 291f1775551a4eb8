"""TAP007: no deprecated resource types or arguments.

What is deprecated comes from the pulumi-aws SDK itself (its deprecated classes and the ``@deprecated`` marks
on its properties), so the rule follows each provider upgrade without a list written by hand. Reading the
SDK costs seconds (it means importing it), so the reading is done once per SDK version by
``python -m tapstack.guard.rules.deprecations_table``, which writes ``deprecations.json`` next to this file;
the rule reads that table, and only when it runs. A test regenerates the table from the installed SDK and fails
when they differ (after ``pip install -U pulumi-aws``: rerun the command, commit the table). Only what AWS
retired but the SDK does not mark is named here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...graph import Graph
from ...resource_types import LAUNCH_CONFIGURATION
from ..model import Context, Finding, Scope, Severity, rule

TABLE = Path(__file__).with_name("deprecations.json")
REGENERATE = "python -m tapstack.guard.rules.deprecations_table"

RETIRED_BY_AWS: dict[str, str] = {
    LAUNCH_CONFIGURATION: (
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


@functools.cache
def _table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text())
    return data


@functools.cache
def deprecations(token: str) -> Deprecations:
    """What the pulumi-aws SDK (as of the table's version) or AWS says is deprecated about one resource type."""
    if token in RETIRED_BY_AWS:
        return Deprecations(resource=RETIRED_BY_AWS[token])
    table = _table()
    return Deprecations(resource=table["resources"].get(token), properties=dict(table["properties"].get(token, {})))


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
