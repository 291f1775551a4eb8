"""TAP002: least privilege in every policy document of the stack.

Documents are found wherever AWS takes one (role trust and inline policies, managed policies, bucket,
topic, queue and key policies), parsed, and judged statement by statement. Action names are checked
against parliament's copy of the AWS service authorization reference, so a typo such as ``s3:GetObjekt``
(which AWS would accept and silently never match) fails here instead of in production. The rule needs only
the action names, so it reads a table generated from parliament (``iam_actions.json.gz`` next to this file,
written by ``python -m tapstack.guard.rules.iam_actions_table``, checked against the installed parliament by
a test) instead of importing parliament, which parses its whole reference on every run.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ...graph import Graph, Resource
from ...lib.aws_iam_facts import UNSCOPED_ACTIONS
from ...resource_types import (
    GROUP_POLICY,
    GROUP_POLICY_ATTACHMENT,
    IAM_POLICY,
    KMS_KEY,
    KMS_KEY_POLICY,
    KMS_REPLICA_KEY,
    POLICY_ATTACHMENT,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    USER_POLICY,
    USER_POLICY_ATTACHMENT,
    VPC_ENDPOINT,
)
from ...serialization import FIX, OUTPUT_STRING_MARKERS
from ..facts import dig, is_unknown, items
from ..model import Context, Finding, Scope, Severity, rule

_UNSCOPED = {a.lower() for a in UNSCOPED_ACTIONS}
_ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")
_MANAGED_ADMIN = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|\w+FullAccess)$"
)

KEY_POLICY_TYPES = frozenset({KMS_KEY, KMS_KEY_POLICY, KMS_REPLICA_KEY})
IDENTITY_POLICY_TYPES = frozenset(
    {
        ROLE,
        ROLE_POLICY,
        IAM_POLICY,
        USER_POLICY,
        GROUP_POLICY,
    }
)
ATTACHMENT_TYPES = frozenset(
    {
        ROLE_POLICY_ATTACHMENT,
        USER_POLICY_ATTACHMENT,
        GROUP_POLICY_ATTACHMENT,
        POLICY_ATTACHMENT,
    }
)


class Kind(Enum):
    IDENTITY = "identity policy"
    TRUST = "trust policy"
    RESOURCE = "resource policy"
    KEY = "key policy"


@dataclass(frozen=True)
class Document:
    resource: Resource
    path: str
    kind: Kind
    text: str


def documents(resource: Resource) -> Iterator[Document]:
    """Every policy document a resource carries, with the property path a reader can find it by."""
    if not resource.type.startswith("aws:"):
        return
    trust = resource.prop("assumeRolePolicy")
    if isinstance(trust, str) and not is_unknown(trust):
        yield Document(resource, "assumeRolePolicy", Kind.TRUST, trust)
    if resource.type in KEY_POLICY_TYPES:
        kind = Kind.KEY
    elif resource.type in IDENTITY_POLICY_TYPES:
        kind = Kind.IDENTITY
    else:
        kind = Kind.RESOURCE
    policy = resource.prop("policy")
    if isinstance(policy, str) and not is_unknown(policy):
        yield Document(resource, "policy", kind, policy)
    for i, inline in enumerate(items(resource.prop("inlinePolicies"))):
        text = dig(inline, "policy")
        if isinstance(text, str) and not is_unknown(text):
            yield Document(resource, f"inlinePolicies[{i}].policy", Kind.IDENTITY, text)


ACTIONS_TABLE = Path(__file__).with_name("iam_actions.json.gz")
REGENERATE_ACTIONS = "python -m tapstack.guard.rules.iam_actions_table"


class UnknownPrefix(LookupError):
    """No AWS service uses the action's prefix."""


class UnknownAction(LookupError):
    """The service has no action of that name (or none the pattern matches)."""


@functools.cache
def _services() -> dict[str, frozenset[str]]:
    """Service prefix -> its action names, lower-cased (IAM compares action names case-insensitively);
    read on first use, a few milliseconds."""
    table = json.loads(gzip.decompress(ACTIONS_TABLE.read_bytes()))
    return {prefix: frozenset(n.lower() for n in names) for prefix, names in table["services"].items()}


@functools.cache
def expand_action(action: str) -> frozenset[str]:
    """The actions ``action`` matches (``*`` and ``?`` as IAM reads them), as ``prefix:name`` in lower case.

    Raises ValueError for a malformed action, UnknownPrefix or UnknownAction when AWS would never match it.
    """
    prefix, sep, name = ("*:*" if action == "*" else action).partition(":")
    if not sep or ":" in name:
        raise ValueError(f"{action!r} is not written service:Action")
    services = _services()
    if prefix == "*":
        chosen = services
    elif prefix.lower() in services:
        chosen = {prefix.lower(): services[prefix.lower()]}
    else:
        raise UnknownPrefix(prefix)
    pattern = name.lower()
    if any(c in pattern for c in "*?["):
        found = frozenset(f"{p}:{n}" for p, names in chosen.items() for n in names if fnmatch.fnmatchcase(n, pattern))
    else:
        found = frozenset(f"{p}:{pattern}" for p, names in chosen.items() if pattern in names)
    if not found and not (pattern == "*" and all(not names for names in chosen.values())):
        raise UnknownAction(action)
    return found


@functools.cache
def action_error(action: str) -> str | None:
    """Why AWS would never match ``action`` (unknown service or action), or None if it names real actions."""
    try:
        expand_action(action)
    except UnknownPrefix:
        return f"{action!r}: no AWS service has the prefix {action.split(':')[0]!r}"
    except UnknownAction:
        return f"{action!r}: no such action in the AWS service authorization reference"
    except ValueError:
        return f"{action!r}: an action is written service:Action"
    return None


def expansion_size(action: str) -> int:
    """How many distinct actions a wildcard matches today (0 when it matches none)."""
    try:
        return len(expand_action(action))
    except (ValueError, LookupError):
        return 0


def _label(statement: dict[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        return [p for key in ("AWS", "Service", "Federated") for p in items(principal.get(key)) if isinstance(p, str)]
    return []


def _is_public(statement: dict[str, Any]) -> bool:
    return "*" in _principals(statement) and not statement.get("Condition")


def _is_root_admin(statement: dict[str, Any]) -> bool:
    """The key policy grant AWS documents as the default: the account root may administer the key."""
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    roots = items(principal["AWS"])
    return bool(roots) and all(isinstance(p, str) and _ACCOUNT_ROOT.match(p) for p in roots)


def _wildcard_findings(doc: Document, label: str, statement: dict[str, Any]) -> Iterator[Finding]:
    actions = [a for a in items(statement.get("Action")) if isinstance(a, str)]
    if "NotAction" in statement:
        yield Finding(doc.resource, f"{doc.path}: {label} allows NotAction, i.e. every action but the ones listed")
    for action in actions:
        service, _, name = action.partition(":")
        if action == "*" or name == "*":
            if doc.kind is Kind.KEY and service.lower() == "kms" and _is_root_admin(statement):
                continue
            scope = (
                "every action of every service" if action == "*" else f"all {expansion_size(action)} {service} actions"
            )
            yield Finding(
                doc.resource,
                f"{doc.path}: {label} allows {action!r} ({scope}, and every action AWS adds later)",
                remediation=("list the exact actions the principal calls (lib/iam.statement refuses wildcards)"),
            )
        elif "*" in action or "?" in action:
            yield Finding(
                doc.resource,
                f"{doc.path}: {label} allows {action!r}, which matches {expansion_size(action)} actions "
                "today and any AWS adds later",
                remediation="list the exact actions the principal calls",
                severity=Severity.MEDIUM,
            )


def _resource_findings(doc: Document, label: str, statement: dict[str, Any]) -> Iterator[Finding]:
    if doc.kind in (Kind.KEY, Kind.TRUST):
        return  # in a key policy "*" means "this key"; trust policies name no resource
    if "NotResource" in statement:
        yield Finding(doc.resource, f"{doc.path}: {label} allows NotResource, i.e. every resource but the ones listed")
    if "*" not in items(statement.get("Resource")):
        return
    actions = [a for a in items(statement.get("Action")) if isinstance(a, str)]
    scoped = [a for a in actions if a.lower() not in _UNSCOPED and "*" not in a]
    if scoped:
        yield Finding(
            doc.resource,
            f"{doc.path}: {label} allows {', '.join(scoped)} on Resource '*'",
            remediation=(
                "name the ARNs the actions act on; only actions AWS cannot scope may use '*' "
                "(lib/iam.UNSCOPED_ACTIONS, each with its reason)"
            ),
        )


def statement_findings(doc: Document, statements: list[Any]) -> Iterator[Finding]:
    for i, statement in enumerate(statements):
        if not isinstance(statement, dict):
            yield Finding(doc.resource, f"{doc.path}: statement #{i + 1} is not an object", severity=Severity.HIGH)
            continue
        label = _label(statement, i)
        for key in ("Action", "NotAction"):
            for action in items(statement.get(key)):
                error = action_error(action) if isinstance(action, str) and action != "*" else None
                if error:
                    yield Finding(
                        doc.resource,
                        f"{doc.path}: {label}: {error}",
                        remediation=("fix the action name (IAM accepts unknown names and then never matches them)"),
                        severity=Severity.HIGH,
                    )
        if statement.get("Effect") != "Allow":
            continue  # a Deny with wildcards (the TLS-only bucket policy) only ever takes access away
        # A VPC endpoint policy's Principal '*' is whoever sends traffic through the endpoint, i.e. from inside
        # its VPC, not the internet: it bounds what the VPC can reach (TAP006 judges it), it exposes nothing.
        if _is_public(statement) and doc.resource.type != VPC_ENDPOINT:
            yield Finding(
                doc.resource,
                f"{doc.path}: {label} allows Principal '*' without a condition: anyone on the internet",
                remediation=("name the principals, or add a condition such as aws:SourceAccount / aws:SourceArn"),
            )
        yield from _wildcard_findings(doc, label, statement)
        yield from _resource_findings(doc, label, statement)


def document_findings(doc: Document) -> Iterator[Finding]:
    if any(marker in doc.text for marker in OUTPUT_STRING_MARKERS):
        yield Finding(
            doc.resource,
            f"{doc.path}: the document contains a stringified Pulumi Output ('Calling __str__ on an "
            "Output...') "
            "instead of the value it stands for",
            remediation=FIX,
        )
        return
    try:
        parsed = json.loads(doc.text)
    except ValueError as err:
        yield Finding(doc.resource, f"{doc.path}: not valid JSON ({err})", severity=Severity.HIGH)
        return
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if statements is None:
        yield Finding(doc.resource, f"{doc.path}: a policy document needs a 'Statement'", severity=Severity.HIGH)
        return
    yield from statement_findings(doc, statements if isinstance(statements, list) else [statements])


def _attachment_findings(resource: Resource) -> Iterator[Finding]:
    arns = [resource.prop("policyArn"), *items(resource.prop("managedPolicyArns"))]
    for arn in arns:
        if isinstance(arn, str) and _MANAGED_ADMIN.match(arn):
            yield Finding(
                resource,
                f"attaches the AWS-managed policy {arn.rsplit('/', 1)[1]}, which allows whole services ('service:*')",
                remediation="write an inline policy with the exact actions and resources instead",
            )


@rule(
    "TAP002",
    title="Least-privilege IAM",
    severity=Severity.CRITICAL,
    scope=Scope.RESOURCE,
    seed=(
        "seed 000 #3 and 003 #4/#7: s3:* and cloudwatch:* on Resource '*', lambda/sqs/xray actions on '*', "
        "and (000 #2) Outputs serialized into policies with json.dumps"
    ),
    remediation="list exact actions on exact ARNs; '*' only for lib/iam.UNSCOPED_ACTIONS",
    controls=("IAM.1", "IAM.21", "KMS.1", "KMS.2"),
)
def least_privilege(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """No '*' or 'service:*' actions, Resource '*' only for actions AWS cannot scope, real action names
    only."""
    for resource in graph.aws_resources():
        for doc in documents(resource):
            yield from document_findings(doc)
        if resource.type in ATTACHMENT_TYPES or resource.type == ROLE:
            yield from _attachment_findings(resource)
