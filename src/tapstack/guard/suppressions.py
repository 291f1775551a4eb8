"""Explicit, reasoned exceptions: one rule on one resource, never a rule switched off for a whole stack.

A suppression names the rule, the resource (logical name or URN) and why the finding is accepted. The
reason is mandatory because the next reader must be able to judge it; a suppression that no longer matches
anything is reported so that it does not outlive the resource it was written for.

File format (YAML or JSON), passed with ``tapstack check --suppressions FILE``::

    suppressions:
      - rule: TAP005
        resource: use1-app-asg
        reason: "load-test stack: instances must be reachable from the test harness (ticket OPS-123)"

The policy pack takes the same entries, per rule, from its policy configuration (see docs/guard-rules.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import TapStackError
from .model import Violation

FIELDS = ("rule", "resource", "reason")


class SuppressionError(TapStackError, ValueError):
    """A suppression that cannot be honoured as written; the message names the entry and the fix."""


@dataclass(frozen=True)
class Suppression:
    rule: str
    resource: str
    reason: str

    def matches(self, violation: Violation) -> bool:
        return violation.rule == self.rule and self.resource in (violation.name, violation.urn)

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "resource": self.resource, "reason": self.reason}


def parse_entry(entry: Any, where: str, rule_ids: Iterable[str]) -> Suppression:
    if not isinstance(entry, dict):
        raise SuppressionError(f"{where}: expected a mapping with {', '.join(FIELDS)}; got {entry!r}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise SuppressionError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    values: dict[str, str] = {}
    for key in FIELDS:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            hint = " (say why this finding is acceptable here)" if key == "reason" else ""
            raise SuppressionError(f"{where}: {key!r} is required and must be non-empty text{hint}")
        values[key] = value.strip()
    known = sorted(rule_ids)
    if values["rule"] not in known:
        raise SuppressionError(f"{where}: unknown rule {values['rule']!r}; known: {', '.join(known)}")
    return Suppression(**values)


def parse(data: Any, source: str, rule_ids: Iterable[str]) -> list[Suppression]:
    """Validate a whole document (``{"suppressions": [...]}``); duplicates are an error, not a no-op."""
    if not isinstance(data, dict) or set(data) != {"suppressions"} or not isinstance(data["suppressions"], list):
        raise SuppressionError(f"{source}: expected a mapping with one key, 'suppressions', holding a list")
    ids = list(rule_ids)
    found: list[Suppression] = []
    for i, entry in enumerate(data["suppressions"]):
        suppression = parse_entry(entry, f"{source}: suppressions[{i}]", ids)
        if any((s.rule, s.resource) == (suppression.rule, suppression.resource) for s in found):
            raise SuppressionError(
                f"{source}: suppressions[{i}]: {suppression.rule} on {suppression.resource!r} is listed twice"
            )
        found.append(suppression)
    return found


def load(path: Path, rule_ids: Iterable[str]) -> list[Suppression]:
    if not path.is_file():
        raise SuppressionError(f"{path}: no such suppressions file")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise SuppressionError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({err})") from None
    return parse(data, str(path), rule_ids)
