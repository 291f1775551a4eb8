"""TAP009: secrets live in SecureString parameters or Secrets Manager, never in plain configuration.

Lambda environment variables are readable by anyone who can call lambda:GetFunctionConfiguration and are
printed in the console; stack outputs are printed by `pulumi stack output`. Both may hold names and ARNs
of secrets, never the secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...graph import SECRET_PLACEHOLDER, Graph, Resource
from ...resource_types import FUNCTION, PARAMETER, SECRET_VERSION
from ..facts import Index, dig, is_unknown
from ..model import Context, Finding, Scope, Severity, rule

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key", re.I
)
_REFERENCE_NAME = re.compile(r"[_-]?(arn|name|id|parameter|param|path|url|ref)$", re.I)
_CREDENTIAL_VALUE = re.compile(
    r"(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|^eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."  # JWT
    r"|^(ghp|gho|ghs|github_pat|xox[abpors]|sk_live)_?[A-Za-z0-9_-]{10,}"
)


def secret_looking(key: str, value: Any) -> str | None:
    """Why ``key=value`` looks like a secret in plain configuration, or None."""
    if not isinstance(value, str) or is_unknown(value):
        return None
    if value == SECRET_PLACEHOLDER:
        return "holds a Pulumi secret, which is stored there in plain text"
    if _CREDENTIAL_VALUE.search(value):
        return "holds a credential"
    if _SECRET_NAME.search(key) and not _REFERENCE_NAME.search(key) and value:
        return "is named like a secret and holds its value rather than a reference (ARN or parameter name)"
    return None


def _lambda_findings(function: Resource) -> Iterator[Finding]:
    remediation = (
        "store the value in Secrets Manager or an SSM SecureString, pass its ARN/name in the environment "
        "and read it at runtime (the migration handler reads TAPSTACK_SECRET_ARN)"
    )
    environment = function.prop("environment")
    variables = dig(environment, "variables")
    if SECRET_PLACEHOLDER in (environment, variables):
        # one secret value makes Pulumi treat the whole block as secret: which variable is not visible
        yield Finding(
            function,
            f"the environment of function {function.name!r} holds a Pulumi secret, which Lambda shows in "
            "plain text to anyone allowed lambda:GetFunctionConfiguration",
            remediation=remediation,
        )
        return
    if not isinstance(variables, dict):
        return
    for key, value in sorted(variables.items()):
        why = secret_looking(key, value)
        if why:
            yield Finding(function, f"environment variable {key} of function {function.name!r} {why}", remediation)


def _parameter_findings(parameter: Resource, ctx: Context) -> Iterator[Finding]:
    kind = parameter.prop("type")
    value = parameter.prop("value")
    name = parameter.prop("name") or parameter.name
    if kind != "SecureString" and not is_unknown(kind):
        why = secret_looking(str(name), value)
        if why:
            yield Finding(
                parameter,
                f"SSM parameter {name!r} is a {kind} but {why}",
                remediation="use type='SecureString' (with the region's KMS key)",
            )
    elif (
        ctx.secrets_redacted and isinstance(value, str) and value not in (SECRET_PLACEHOLDER,) and not is_unknown(value)
    ):
        yield Finding(
            parameter,
            f"SecureString parameter {name!r} takes a value that is not a Pulumi secret: it is stored in the "
            "stack state in plain text",
            remediation="wrap the value in pulumi.Output.secret(...) or read it with config.require_secret",
            severity=Severity.MEDIUM,
        )


def _secret_version_findings(version: Resource, ctx: Context) -> Iterator[Finding]:
    for key in ("secretString", "secretBinary"):
        value = version.prop(key)
        if ctx.secrets_redacted and isinstance(value, str) and value != SECRET_PLACEHOLDER and not is_unknown(value):
            yield Finding(
                version,
                f"{key} of {version.name!r} is not a Pulumi secret: it is stored in the stack state in plain text",
                remediation=("wrap the value in pulumi.Output.secret(...) or read it with config.require_secret"),
            )


@rule(
    "TAP009",
    title="Secrets stay secret",
    severity=Severity.CRITICAL,
    scope=Scope.RESOURCE,
    seed=(
        "seed 003 #2: configuration passed only through Lambda environment variables, no Parameter Store "
        "SecureString, no Secrets Manager"
    ),
    remediation=("keep secrets in Secrets Manager or SSM SecureString, as Pulumi secrets; pass only references"),
)
def secrets_stay_secret(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """No secret-looking values in Lambda environment variables, plain parameters or plain stack outputs;
    secret values enter the state as Pulumi secrets."""
    index = Index(graph)
    for function in index.of_type(FUNCTION):
        yield from _lambda_findings(function)
    for parameter in index.of_type(PARAMETER):
        yield from _parameter_findings(parameter, ctx)
    for version in index.of_type(SECRET_VERSION):
        yield from _secret_version_findings(version, ctx)
    for key, value in sorted(graph.outputs.items()):
        why = secret_looking(key, value)
        if why and value != SECRET_PLACEHOLDER:
            yield Finding(
                None,
                f"stack output {key!r} {why}: `pulumi stack output` prints it",
                remediation="export a reference instead, or wrap it in pulumi.Output.secret(...)",
                name=f"outputs.{key}",
            )
