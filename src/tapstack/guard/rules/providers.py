"""TAP001: every AWS resource goes through an explicit provider that names its region."""

from __future__ import annotations

from collections.abc import Iterator

from ...graph import Graph
from ..facts import Index, is_unknown
from ..model import Context, Finding, Scope, Severity, rule

AWS_PROVIDER = "pulumi:providers:aws"


def is_default_provider(urn: str) -> bool:
    """The engine names the providers it makes itself ``default`` or ``default_<version>``."""
    name = urn.rsplit("::", 1)[-1]
    return name == "default" or name.startswith("default_")


@rule(
    "TAP001",
    title="Explicit, region-scoped providers",
    severity=Severity.CRITICAL,
    scope=Scope.RESOURCE,
    seed=(
        "seed 000 #1/#9 and 003 #1/#12: providers were created per region but never passed to the modules, "
        "so every resource silently landed in the default provider's region"
    ),
    remediation=(
        "pass the region's provider: opts=ResourceOptions(provider=<region provider>, parent=self); give "
        "every aws.Provider an explicit region"
    ),
)
def explicit_providers(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every AWS resource is created through an explicit aws.Provider that sets its region."""
    index = Index(graph)
    for resource in graph.aws_resources():
        if not resource.provider or is_default_provider(resource.provider):
            yield Finding(
                resource,
                f"{resource.type} {resource.name!r} uses the default AWS provider: its region comes from "
                "the environment (aws:region, AWS_REGION), not from the stack's region list",
            )
            continue
        provider = index.provider_of(resource)
        if provider is None or provider.type != AWS_PROVIDER:
            continue
        region = provider.prop("region")
        if not is_unknown(region) and not region:
            yield Finding(
                resource,
                f"{resource.type} {resource.name!r} uses provider {provider.name!r}, which sets no region: "
                "the region would come from the environment of whoever runs `pulumi up`",
                remediation=f"create provider {provider.name!r} with region=<one of the stack's regions>",
            )
