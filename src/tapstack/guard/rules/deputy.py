"""TAP012: no service principal may act for another account (the cross-service confused deputy).

A grant to ``{"Service": "cloudwatch.amazonaws.com"}`` trusts the service, not this account's use of it: without
a condition any CloudWatch customer's alarm could publish to the topic or use the key. AWS's remedy
(https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html#cross-service-confused-deputy-prevention)
is ``aws:SourceAccount`` on every such grant, plus ``aws:SourceArn`` where the service says which resource it
acts for. Which services send ``aws:SourceArn`` is recorded once, in ``lib/iam.SOURCE_ARN_PATTERNS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ...graph import Graph
from ...lib.aws_iam_facts import SOURCE_ARN_PATTERNS, TRUST_WITHOUT_SOURCE_ACCOUNT
from ..facts import items
from ..model import Context, Finding, Scope, Severity, rule
from .iam import Document, Kind, documents

SOURCE_ACCOUNT = "aws:sourceaccount"
SOURCE_ARN = "aws:sourcearn"
# CloudWatch Logs documents no aws:SourceAccount for its KMS calls; its key-policy grant is bound to the
# account's log groups by the encryption context instead (the log group ARN names the account).
_BINDING_EQUIVALENTS: dict[str, frozenset[str]] = {
    r"logs\.[a-z0-9-]+\.amazonaws\.com": frozenset({"kms:encryptioncontext:aws:logs:arn"}),
}


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    return [p for p in items(principal.get("Service")) if isinstance(p, str)]


def _bound_keys(statement: dict[str, Any]) -> set[str]:
    """Condition keys that really bind the request: present for a missing key ('...IfExists') does not, and
    neither does a value that is only a wildcard."""
    bound: set[str] = set()
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return bound
    for operator, pairs in conditions.items():
        if not isinstance(operator, str) or operator.endswith("IfExists") or not isinstance(pairs, dict):
            continue
        for key, value in pairs.items():
            values = [v for v in items(value) if v is not None]
            if isinstance(key, str) and values and all(str(v).strip("*") for v in values):
                bound.add(key.lower())
    return bound


def _equivalents(service: str) -> frozenset[str]:
    return next((keys for pattern, keys in _BINDING_EQUIVALENTS.items() if re.fullmatch(pattern, service)), frozenset())


def _label(statement: dict[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def _document_findings(doc: Document) -> Iterator[Finding]:
    try:
        parsed = json.loads(doc.text)
    except ValueError:
        return  # TAP002 reports documents that are not JSON
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    for i, statement in enumerate(items(statements)):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        bound = _bound_keys(statement)
        for service in _service_principals(statement):
            if bound & _equivalents(service):
                continue
            if doc.kind == Kind.TRUST and service in TRUST_WITHOUT_SOURCE_ACCOUNT:
                continue
            required = [SOURCE_ACCOUNT, SOURCE_ARN] if service in SOURCE_ARN_PATTERNS else [SOURCE_ACCOUNT]
            absent = [key for key in required if key not in bound]
            if absent:
                names = " and ".join("aws:SourceAccount" if k == SOURCE_ACCOUNT else "aws:SourceArn" for k in absent)
                yield Finding(
                    doc.resource,
                    f"{doc.path}: {_label(statement, i)} lets {service} act without {names} in its "
                    f"{_WHAT[doc.kind]}: the service could be made to act here for another account's resources",
                    remediation=_remedy(service),
                )


_WHAT = {
    Kind.TRUST: "trust policy",
    Kind.KEY: "key policy",
    Kind.RESOURCE: "resource policy",
    Kind.IDENTITY: "policy",
}


def _remedy(service: str) -> str:
    if service in SOURCE_ARN_PATTERNS:
        return (
            f'add "Condition": {{"StringEquals": {{"aws:SourceAccount": <account>}}, "ArnLike": {{"aws:SourceArn": '
            f"<the resource {service} acts for>}}}} (lib/iam.confused_deputy_conditions)"
        )
    return 'add "Condition": {"StringEquals": {"aws:SourceAccount": <account>}} (lib/iam.confused_deputy_conditions)'


@rule(
    "TAP012",
    title="No confused deputy",
    severity=Severity.HIGH,
    scope=Scope.RESOURCE,
    seed=(
        "seed 003 #4 (tightly scoped IAM), as auditors found it (issue 15 #8): removing aws:SourceAccount from "
        "the trust policies and the KMS key's CloudWatch grant passed `tapstack check` and every test"
    ),
    remediation="limit every grant to a service principal with aws:SourceAccount (and aws:SourceArn where sent)",
    controls=("Lambda.1",),
)
def no_confused_deputy(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every grant to an AWS service principal (trust, key, topic, bucket and other resource policies) carries
    aws:SourceAccount and, for services that send it (lib/iam.SOURCE_ARN_PATTERNS), aws:SourceArn.

    The IAM User Guide's cross-service confused deputy prevention; FSBP Lambda.1 fails a function policy that
    lets S3 invoke it without aws:SourceAccount for the same reason."""
    for resource in graph.aws_resources():
        for doc in documents(resource):
            yield from _document_findings(doc)
