"""Run the rules over a graph and apply the suppressions: what `tapstack check` reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..graph import Graph
from .model import Context, Rule, Severity, Violation
from .rules import RULES
from .suppressions import Suppression


@dataclass(frozen=True)
class Suppressed:
    violation: Violation
    suppression: Suppression


@dataclass
class Report:
    rules: Sequence[Rule]
    violations: list[Violation] = field(default_factory=list)
    """Not suppressed, in rule order."""
    suppressed: list[Suppressed] = field(default_factory=list)
    unused: list[Suppression] = field(default_factory=list)
    """Suppressions that matched nothing: stale, or naming the wrong resource."""

    def at_or_above(self, threshold: Severity) -> list[Violation]:
        return [v for v in self.violations if v.severity >= threshold]


def evaluate(
    graph: Graph,
    *,
    context: Context | None = None,
    rules: Sequence[Rule] = RULES,
    suppressions: Sequence[Suppression] = (),
) -> Report:
    ctx = context if context is not None else Context.for_graph(graph)
    report = Report(rules=rules)
    used: set[Suppression] = set()
    for rule in rules:
        for violation in rule(graph, ctx):
            match = next((s for s in suppressions if s.matches(violation)), None)
            if match is None:
                report.violations.append(violation)
            else:
                used.add(match)
                report.suppressed.append(Suppressed(violation, match))
    report.unused = [s for s in suppressions if s not in used]
    return report
