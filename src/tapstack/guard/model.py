"""What a rule is and what it reports, shared by `tapstack check` and the CrossGuard policy pack.

A rule is a pure function over the resource graph. It knows nothing about how the graph was obtained
(offline synthesis, a graph.json, or the Pulumi engine during `pulumi preview`), so the same code guards
all three; the only facts that differ between them travel in ``Context``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..graph import PROVIDER_PREFIX, Graph, Resource


@functools.total_ordering
class Severity(Enum):
    """Ordered: a threshold of ``high`` fails on high and critical."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        order = list(Severity)
        return order.index(self) < order.index(other)


class Scope(Enum):
    """RESOURCE rules look at one resource's own inputs, so CrossGuard can run them before it is created;
    STACK rules relate resources to each other (a bucket and its public access block) and run once."""

    RESOURCE = "resource"
    STACK = "stack"


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: Severity
    urn: str
    name: str
    message: str
    remediation: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "urn": self.urn,
            "name": self.name,
            "message": self.message,
            "remediation": self.remediation,
        }


@dataclass(frozen=True)
class Finding:
    """What a check function yields; the rule adds its id, default severity and remediation."""

    resource: Resource | None
    message: str
    remediation: str | None = None
    severity: Severity | None = None
    name: str | None = None
    """Only for findings without a resource (a stack output): what a suppression names."""


_ENVIRONMENT_TAG = "Environment"


@dataclass(frozen=True)
class Context:
    """Facts about the graph that are not resources.

    ``secrets_redacted``: synthesis replaces every Pulumi secret with ``[secret]``, so a plain value where
    a secret belongs is visible; CrossGuard receives secrets already unwrapped, so there it is not.
    """

    environment_suffix: str | None = None
    secrets_redacted: bool = True
    against: Graph | None = field(default=None, compare=False)
    """The graph the stack was deployed from (``check --against``): what TAP013 compares the graph with."""
    allow_replace: frozenset[str] = frozenset()
    """URNs whose destructive change the user accepted by name (``check --allow-replace``)."""

    @classmethod
    def for_graph(
        cls,
        graph: Graph,
        *,
        secrets_redacted: bool = True,
        against: Graph | None = None,
        allow_replace: frozenset[str] = frozenset(),
    ) -> Context:
        return cls(
            environment_suffix=environment_suffix(graph),
            secrets_redacted=secrets_redacted,
            against=against,
            allow_replace=allow_replace,
        )


def environment_suffix(graph: Graph) -> str | None:
    """The suffix every physical name must carry: the providers' ``Environment`` default tag.

    Providers are where TapStack (and any program that tags by environment) states it once; it is also
    what CrossGuard can see, unlike the stack configuration. Falls back to the stack name.
    """
    for resource in graph.resources:
        if not resource.type.startswith(PROVIDER_PREFIX):
            continue
        tags = _default_tags(resource.prop("defaultTags"))
        value = tags.get(_ENVIRONMENT_TAG)
        if isinstance(value, str) and value:
            return value
    return graph.stack or None


def _default_tags(raw: Any) -> dict[str, Any]:
    """Provider inputs reach us as JSON strings (that is how the engine stores them) or as objects."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if isinstance(raw, dict):
        tags = raw.get("tags")
        return tags if isinstance(tags, dict) else {}
    return {}


Check = Callable[[Graph, Context], Iterable[Finding]]
_RULE_ID = re.compile(r"^TAP\d{3}$")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    scope: Scope
    seed: str
    """The seed problem this rule exists to prevent, as a reviewer wrote it."""
    remediation: str
    check: Check = field(repr=False)
    controls: tuple[str, ...] = ()
    """AWS Foundational Security Best Practices control ids this rule implements or overlaps."""

    def __post_init__(self) -> None:
        if not _RULE_ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} must look like TAP001")

    @property
    def description(self) -> str:
        """The check docstring's first paragraph on one line: the rule as docs and CrossGuard state it."""
        doc = self.check.__doc__ or self.title
        return " ".join(doc.strip().split("\n\n")[0].split())

    def __call__(self, graph: Graph, context: Context | None = None) -> list[Violation]:
        """Violations ordered by resource (the engine registers resources concurrently, so graph order is not
        stable); one resource's findings keep the order the check reports them in."""
        ctx = context if context is not None else Context.for_graph(graph)
        found = [self._violation(f) for f in self.check(graph, ctx)]
        return sorted(found, key=lambda v: (v.name, v.urn))

    def _violation(self, finding: Finding) -> Violation:
        resource = finding.resource
        return Violation(
            rule=self.id,
            severity=finding.severity or self.severity,
            urn=resource.urn if resource is not None else "",
            name=resource.name if resource is not None else (finding.name or "stack"),
            message=finding.message,
            remediation=finding.remediation or self.remediation,
        )


def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity,
    scope: Scope,
    seed: str,
    remediation: str,
    controls: tuple[str, ...] = (),
) -> Callable[[Check], Rule]:
    """Declare a rule next to its check function, so the metadata cannot drift from the code."""

    def wrap(check: Check) -> Rule:
        return Rule(rule_id, title, severity, scope, seed, remediation, check, controls)

    return wrap
