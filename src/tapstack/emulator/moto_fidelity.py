"""Where moto is narrower than AWS in ways a correct TapStack deploy runs into, make it behave like AWS.

Each fix is small, keeps moto's behaviour for everything else, and is installed only in the emulator this
process serves (``Emulator.start``); an attached ``--endpoint`` server has what its own process installed.

- Bucket policies and ``aws:SecureTransport``: moto applies a bucket policy to every object request, but it
  evaluates no ``Bool`` condition and applies a statement whose condition does not hold as a Deny. TapStack's
  TLS-only statement (deny ``s3:*`` when ``aws:SecureTransport`` is false) thus refused every object request,
  even over TLS. Here the transport of each request is known (``transport_aware``), ``Bool`` conditions are
  evaluated, and a statement whose conditions do not hold does not apply, as in AWS.
- IAM evaluation of SSM parameter and Secrets Manager secret calls: with enforcement on, moto checks these
  against ``Resource: "*"``, so a role allowed ``ssm:GetParameter`` on exactly its own parameter would be
  refused every parameter and least privilege could not be shown by execution. AWS authorizes them against
  the parameter's or the secret's ARN; moto already does the same for SQS queues.
- The S3 server-access-logging grant: moto accepts a bucket-policy grant to ``logging.s3.amazonaws.com`` only
  when ``Resource`` is one string equal to the target prefix; AWS evaluates the policy, where a list of
  resources and wildcards (``logs/access-logs/*`` covering ``access-logs/<bucket>/``) grant just as well.
- Reading a replication configuration back: moto stores every rule as written but answers
  ``DeleteMarkerReplication: Disabled``, an empty filter and no source selection for each, so a reader
  (the handler's own ``validate``) would see a configuration that was never written. AWS returns the rules.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import WsgiApp

# Calls that name exactly one parameter in ``Name``.
SSM_PARAMETER_ACTIONS = frozenset(
    {"GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory", "LabelParameterVersion"}
)
LOGGING_SERVICE = "logging.s3.amazonaws.com"
_transport = threading.local()
_installed = False


def transport_aware(app: WsgiApp) -> WsgiApp:
    """Remember, for the thread serving a request, whether it came over TLS (``aws:SecureTransport``)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _transport.secure = environ.get("wsgi.url_scheme") == "https"
        return app(environ, start_response)

    return serve


def _bool_condition(expected: Any, actual: str) -> bool:
    return str(actual).lower() in {str(v).lower() for v in _listed(expected)}


def _bucket_permission(bucket: Any, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    secure = "true" if getattr(_transport, "secure", False) else "false"
    return IAMPolicy(bucket.policy.decode()).is_action_permitted(
        action, resource, incoming_condition_values={"aws:SecureTransport": secure}
    )


def _only_when_conditions_hold(original: Callable[..., Any]) -> Callable[..., Any]:
    def is_action_permitted(
        statement: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        from moto.iam.access_control import PermissionResult

        if not statement._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return original(statement, action, resource, principal, incoming_condition_values)

    return is_action_permitted


def _ssm_resource(response: Any) -> str:
    name = response._get_param("Name") if response._get_action() in SSM_PARAMETER_ACTIONS else None
    if not isinstance(name, str) or not name:
        return "*"
    if name.startswith("arn:"):
        return name
    path = name if name.startswith("/") else f"/{name}"
    return f"arn:{response.partition}:ssm:{response.region}:{response.current_account}:parameter{path}"


def _secret_resource(response: Any) -> str:
    secret_id = response._get_param("SecretId")
    if not isinstance(secret_id, str) or not secret_id:
        return "*"
    try:
        return str(response.backend.secrets[secret_id].arn)
    except KeyError:  # unknown secret: the call itself answers ResourceNotFoundException
        return "*"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value) is not None


def logging_granted(policy: str | bytes | None, bucket_arn: str, prefix: str) -> bool:
    """Does ``policy`` let the logging service put objects under ``prefix`` in the bucket?"""
    if not policy:
        return False
    probe = f"{bucket_arn}/{prefix}log-object"
    for st in _listed(json.loads(policy).get("Statement", [])):
        principal = st.get("Principal") or {}
        services = _listed(principal.get("Service", [])) if isinstance(principal, dict) else []
        actions = _listed(st.get("Action", []))
        if (
            st.get("Effect") == "Allow"
            and LOGGING_SERVICE in services
            and any(_matches(a, "s3:PutObject") for a in actions)
            and any(_matches(r, probe) for r in _listed(st.get("Resource", [])))
        ):
            return True
    return False


def _log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
    return logging_granted(
        target_bucket.policy, f"arn:{target_bucket.partition}:s3:::{target_bucket.name}", target_prefix or ""
    )


def _replication_rule(rule: dict[str, Any]) -> dict[str, Any]:
    kept = ("ID", "Priority", "Status", "SourceSelectionCriteria", "ExistingObjectReplication")
    out = {key: rule[key] for key in kept if key in rule}
    if "Filter" in rule:  # the XML parser reads an empty <Prefix/> as None
        out["Filter"] = {k: "" if v is None else v for k, v in (rule["Filter"] or {"Prefix": None}).items()}
    out["DeleteMarkerReplication"] = rule.get("DeleteMarkerReplication") or {"Status": "Disabled"}
    out["Destination"] = rule["Destination"]
    return out


def _get_bucket_replication(response: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError

    response.data["Action"] = "GetBucketReplication"
    replication = response.backend.get_bucket_replication(response.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=response.bucket_name)
    rules = [_replication_rule(rule) for rule in replication["Rule"]]
    return response.serialized(
        ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}})
    )


def install() -> None:
    """Apply the fixes to moto in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.iam.access_control import IAMPolicyStatement
    from moto.iam.policy_conditions import CONDITION_OPERATIONS
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    SimpleSystemManagerResponse._determine_resource = _ssm_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    S3Response.get_bucket_replication = _get_bucket_replication  # type: ignore[method-assign,assignment]
    FakeBucket._log_permissions_enabled_policy = staticmethod(  # type: ignore[method-assign]
        _log_permissions_enabled_policy
    )
    FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign,assignment]
    CONDITION_OPERATIONS["Bool"] = _bool_condition  # type: ignore[assignment]
    IAMPolicyStatement.is_action_permitted = _only_when_conditions_hold(  # type: ignore[method-assign]
        IAMPolicyStatement.is_action_permitted
    )
    _installed = True
