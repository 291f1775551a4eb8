"""The guard as a Pulumi CrossGuard policy pack: the same rule functions, fed by the engine.

``pulumi preview --policy-pack policy-pack`` hands each resource's inputs to resource policies (before the
resource exists) and every resource's state to stack policies (once the plan is complete). The adapter
turns both into the Graph model the rules read; ``policy-pack/__main__.py`` only wraps ``policies()`` in a
PolicyPack, because constructing one starts the analyzer server.

Differences from `tapstack check` that the adapter accounts for: values unknown during preview become
``facts.UNKNOWN`` (rules skip them), secrets arrive unwrapped (``Context.secrets_redacted`` is False), and
stack outputs are not visible to policies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from ..graph import SECRET_PLACEHOLDER, Graph, Resource
from .facts import UNKNOWN
from .model import Context, Rule, Scope, Severity, Violation
from .rules import RULES, RULES_BY_ID
from .suppressions import Suppression, parse_entry

PACK_NAME = "tapstack-guard"
_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
SUPPRESSIONS_SCHEMA = PolicyConfigSchema(
    properties={
        "suppressions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "resource": {"type": "string", "minLength": 1},
                    "reason": {"type": "string", "minLength": 1},
                },
                "required": ["resource", "reason"],
                "additionalProperties": False,
            },
        }
    }
)
_POLICY_SEVERITY = {
    Severity.LOW: PolicySeverity.LOW,
    Severity.MEDIUM: PolicySeverity.MEDIUM,
    Severity.HIGH: PolicySeverity.HIGH,
    Severity.CRITICAL: PolicySeverity.CRITICAL,
}


def plain(value: Any) -> Any:
    """Engine property values as the graph holds them: proxies unwrapped (without tripping their unknown
    check), unknowns as ``UNKNOWN``, secrets redacted, assets described."""
    if isinstance(value, Mapping):
        target = value["__target"] if not isinstance(value, dict) else value
        return {k: plain(v) for k, v in target.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        target = value["__target"] if not isinstance(value, list | tuple) else value  # type: ignore[call-overload]
        return [plain(v) for v in target]
    if isinstance(value, str) and value in _SENTINELS:
        return UNKNOWN
    if isinstance(value, Secret):
        return SECRET_PLACEHOLDER
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"$asset": type(value).__name__}
    return value


def _provider_node(provider: PolicyProviderResource) -> Resource:
    props = plain(provider.props)
    region = props.get("region")
    return Resource(
        urn=provider.urn,
        type=provider.resource_type,
        name=provider.name,
        region=region if isinstance(region, str) and region != UNKNOWN else None,
        inputs=props,
    )


def resource_graph(args: ResourceValidationArgs) -> Graph:
    """One resource (its inputs) and its provider: what a resource policy can judge alone."""
    nodes: list[Resource] = []
    provider_urn = None
    region = None
    if args.provider is not None:
        provider = _provider_node(args.provider)
        nodes.append(provider)
        provider_urn, region = provider.urn, provider.region
    nodes.append(
        Resource(
            urn=args.urn,
            type=args.resource_type,
            name=args.name,
            region=region,
            provider=provider_urn,
            parent=args.opts.parent if args.opts is not None else None,
            inputs=plain(args.props),
        )
    )
    return Graph(stack=_stack_of(args.urn), resources=nodes)


def stack_graph(args: StackValidationArgs) -> Graph:
    """Every resource's state; links come from the values and from the engine's recorded dependencies."""
    nodes: dict[str, Resource] = {}
    for resource in args.resources:
        if resource.provider is not None and resource.provider.urn not in nodes:
            nodes[resource.provider.urn] = _provider_node(resource.provider)
    for resource in args.resources:
        if resource.urn in nodes:
            continue
        nodes[resource.urn] = _stack_node(resource, nodes)
    first = next(iter(args.resources), None)
    return Graph(stack=_stack_of(first.urn) if first else "unknown", resources=list(nodes.values()))


def _stack_node(resource: PolicyResource, nodes: Mapping[str, Resource]) -> Resource:
    props = plain(resource.props)
    provider = nodes.get(resource.provider.urn) if resource.provider is not None else None
    deps = {d.urn for d in resource.dependencies}
    deps.update(d.urn for linked in resource.property_dependencies.values() for d in linked)
    return Resource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        region=provider.region if provider is not None else None,
        provider=provider.urn if provider is not None else None,
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=sorted(deps),
        inputs=props,
        outputs=props,
    )


def _stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::...`` -> stack."""
    parts = urn.split(":")
    return parts[2] if len(parts) > 2 and urn.startswith("urn:pulumi:") else "unknown"


def suppressions_from(config: Mapping[str, Any], rule: Rule) -> list[Suppression]:
    """This policy's ``suppressions`` config entries, validated like the CLI's file (reason required)."""
    entries = config.get("suppressions") or []
    return [
        parse_entry({"rule": rule.id, **dict(entry)}, f"{rule.id} config: suppressions[{i}]", RULES_BY_ID)
        for i, entry in enumerate(entries)
    ]


def report(
    violations: Iterable[Violation], suppressions: Sequence[Suppression], report_violation: ReportViolation
) -> None:
    for violation in violations:
        if any(s.matches(violation) for s in suppressions):
            continue
        report_violation(f"{violation.message}. Fix: {violation.remediation}", violation.urn or None)


def resource_validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        graph = resource_graph(args)
        ctx = Context(environment_suffix=None, secrets_redacted=False)
        report(rule(graph, ctx), suppressions_from(args.get_config(), rule), report_violation)

    return validate


def stack_validator(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = stack_graph(args)
        report(
            rule(graph, Context.for_graph(graph, secrets_redacted=False)),
            suppressions_from(args.get_config(), rule),
            report_violation,
        )

    return validate


def enforcement(rule: Rule) -> EnforcementLevel:
    """High and critical rules block the update; the others advise (both can be changed per stack)."""
    return EnforcementLevel.MANDATORY if rule.severity >= Severity.HIGH else EnforcementLevel.ADVISORY


def policies(rules: Sequence[Rule] = RULES) -> list[Policy]:
    """One CrossGuard policy per rule, named by its id (TAP001...), so docs, CLI and pack agree."""
    made: list[Policy] = []
    for rule in rules:
        common: dict[str, Any] = {
            "name": rule.id,
            "description": rule.description,
            "enforcement_level": enforcement(rule),
            "config_schema": SUPPRESSIONS_SCHEMA,
            "display_name": rule.title,
            "severity": _POLICY_SEVERITY[rule.severity],
            "remediation_steps": rule.remediation,
            "tags": ["tapstack", rule.scope.value],
        }
        if rule.controls:
            common["framework"] = PolicyComplianceFramework(
                name="AWS Foundational Security Best Practices", reference=", ".join(rule.controls)
            )
        if rule.scope is Scope.RESOURCE:
            made.append(ResourceValidationPolicy(validate=resource_validator(rule), **common))
        else:
            made.append(StackValidationPolicy(validate=stack_validator(rule), **common))
    return made
