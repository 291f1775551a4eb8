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
- Replication itself: moto stores a replication configuration but never copies an object, so a release would
  wait for ever for its artifacts in the secondary regions. AWS replicates each new object version whose key
  matches an enabled rule's filter to that rule's destination (same version id, replica KMS key, delete markers
  only when the rule says so) and reports PENDING, COMPLETED and REPLICA; ``replication`` does the same, and
  ``replication.set_delay`` holds it back for tests of a replication timeout.
- IAM policy variables: moto matches a ``Resource`` such as ``.../fleet/heartbeats/${aws:userid}.json``
  literally (as a regular expression, where ``$`` anchors), so it matches nothing and an instance could never
  write its own heartbeat. AWS substitutes the caller's request context before matching, and for a role
  session ``aws:userid`` is ``<role id>:<session name>`` (``<role id>:<instance id>`` on EC2); a variable the
  request does not carry matches nothing
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
- ``s3:prefix`` on ``s3:ListBucket``: moto evaluates an identity policy's conditions without any request
  context, so every condition holds and a grant limited to one prefix lists the whole bucket. AWS sets
  ``s3:prefix`` from the request's ``prefix`` parameter, and a condition on a key the request lacks does not
  hold (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html). Here S3 list
  requests carry ``s3:prefix`` (empty when absent, which no ``StringEquals`` on a real prefix matches).
- Secrets Manager resource policies: moto stores a secret's policy but never evaluates it, so a principal whose
  identity policy allows ``secretsmanager:GetSecretValue`` on ``*`` reads a secret whose policy denies it. AWS
  evaluates both, and an explicit Deny in either wins
  (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html). Here a
  request that its identity policies allow is checked against the secret's ``Deny`` statements, with the
  ``Arn*`` condition operators on ``aws:PrincipalArn`` (the caller's role or user ARN) that TapStack's policy uses.
- S3 gateway endpoint policies: moto stores a VPC endpoint's policy but nothing travels "through" it. On AWS every
  S3 request from the private subnets takes the gateway endpoint's route (its prefix-list route is the most
  specific) and is allowed only if the endpoint policy allows it too
  (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html). The emulator's instances are
  role sessions named after their instance id, as EC2 names them; their S3 requests are checked against the
  policy of the region's S3 gateway endpoint (any endpoint that allows the request lets it through).
- KMS key policies: moto stores a key policy but never evaluates it, and it accepts any. AWS judges every use
  of a key by its key policy (and IAM where the policy delegates to it), refuses a policy naming a principal
  that does not exist or locking the account out, and replication acts as the replication role. The S3
  object reads and writes of a caller are checked against the object's key here (``authorization``), key
  policies are validated at CreateKey and PutKeyPolicy, and ``replication`` evaluates the role.
- Object Lock on an existing bucket: moto refuses ``PutObjectLockConfiguration`` on a bucket that holds any
  object (``BucketNeedsToBeNew``). S3 turns Object Lock on for an existing bucket once versioning is enabled,
  whatever it holds (S3 User Guide, "Enabling Object Lock on an existing bucket"), which is how TapStack turns
  on ``deploymentObjectLockDays`` for a deployed stack; here versioning is the only requirement, as in AWS.
- Lambda's concurrency quota (``quotas``) and the tag keys EC2 refuses with instance-metadata tags on
  (``launches``): moto enforces neither by default.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..graph import as_list
from . import authorization, instance_refresh, launches, quotas, replication
from .patches import mark, wrap
from .wsgi import WsgiApp

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


def wsgi(app: WsgiApp) -> WsgiApp:
    """``app`` with every fix that needs to see the request: its transport, and what it wrote (replication)."""
    return replication.after_each_request(transport_aware(app))


def _replicating_put(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_object(backend: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        key = original(backend, bucket_name, key_name, *args, **kwargs)
        replication.object_written(backend, bucket_name, key_name, str(key.version_id))
        return key

    return put_object


def _replicating_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_object(
        backend: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> Any:
        success, meta = original(backend, bucket_name, key_name, version_id=version_id, bypass=bypass)
        if success and version_id is None and meta.get("delete-marker") == "true":
            replication.object_written(backend, bucket_name, key_name, str(meta["version-id"]), delete_marker=True)
        return success, meta

    return delete_object


def _with_replication_status(original: property) -> property:
    def response_dict(key: Any) -> dict[str, Any]:
        headers: dict[str, Any] = original.fget(key)  # type: ignore[misc]
        status = replication.status_of(key)
        if status is not None:
            headers["x-amz-replication-status"] = status
        return headers

    return property(response_dict)


def _bool_condition(expected: Any, actual: str) -> bool:
    return str(actual).lower() in {str(v).lower() for v in as_list(expected)}


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

        if incoming_condition_values is None:
            incoming_condition_values = getattr(_caller, "context", None)
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


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value) is not None


def logging_granted(policy: str | bytes | None, bucket_arn: str, prefix: str) -> bool:
    """Does ``policy`` let the logging service put objects under ``prefix`` in the bucket?"""
    if not policy:
        return False
    probe = f"{bucket_arn}/{prefix}log-object"
    for st in as_list(json.loads(policy).get("Statement", [])):
        principal = st.get("Principal") or {}
        services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        actions = as_list(st.get("Action", []))
        if (
            st.get("Effect") == "Allow"
            and LOGGING_SERVICE in services
            and any(_matches(a, "s3:PutObject") for a in actions)
            and any(_matches(r, probe) for r in as_list(st.get("Resource", [])))
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


_caller = threading.local()
_USERID_VARIABLE = "${aws:userid}"


def _principal(access_key: Any) -> Any | None:
    """The IAM role (for a role session) or user behind the caller's keys; None for a principal IAM does not know."""
    from moto.core.exceptions import ServiceException

    role_name = getattr(access_key, "_owner_role_name", None)
    try:
        if role_name is not None:
            return access_key.backend.get_role(role_name)
        return access_key.backend.get_user(access_key._owner_user_name)
    except ServiceException:
        return None


def _user_id(access_key: Any) -> str | None:
    """``aws:userid`` of the caller: ``<role id>:<session name>`` for a role session, the user's id for a user; a
    principal IAM does not know has none, and the variable then matches nothing."""
    principal = _principal(access_key)
    if principal is None:
        return None
    if getattr(access_key, "_owner_role_name", None) is not None:
        return f"{principal.id}:{access_key._session_name}"
    return str(principal.id)


def _request_context(request: Any) -> dict[str, str] | None:
    """The condition keys AWS sets from the request itself that TapStack's policies use: ``s3:prefix``."""
    if request._action != "s3:ListBucket":
        return None
    query = parse_qs(urlparse(request._path).query)
    return {"s3:prefix": (query.get("prefix") or [""])[0]}


def _principal_arn(access_key: Any) -> str | None:
    """``aws:PrincipalArn``: the role's ARN for a role session, the user's ARN for a user."""
    principal = _principal(access_key)
    return None if principal is None else str(principal.arn)


_ARN_CONDITIONS: dict[str, tuple[bool, bool]] = {
    # operator -> (wildcards allowed, condition holds when the value matches)
    "ArnEquals": (False, True),
    "ArnLike": (True, True),
    "ArnNotEquals": (False, False),
    "ArnNotLike": (True, False),
}


def _condition_holds(operator: str, expected: Any, actual: str | None) -> bool:
    wildcards, when_matching = _ARN_CONDITIONS[operator]
    if actual is None:  # a key the request lacks: only the negated operators hold, as in AWS
        return not when_matching
    matched = any(
        (_matches(str(p), actual) if wildcards else str(p) == actual) for p in as_list(expected) if p is not None
    )
    return matched is when_matching


def _denied_by_resource_policy(policy: str, action: str, principal_arn: str | None) -> bool:
    """Whether a ``Deny`` statement of the policy applies: its action matches and every condition holds.

    A condition TapStack's policies do not use (another operator or key) makes the statement not apply, so
    this fix never refuses more than AWS would for the policies it deploys."""
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    for statement in as_list(doc.get("Statement") if isinstance(doc, dict) else None):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if not any(_matches(str(a).lower(), action.lower()) for a in as_list(statement.get("Action"))):
            continue
        conditions = statement.get("Condition") or {}
        holds = all(
            operator in _ARN_CONDITIONS
            and set(pairs) == {"aws:PrincipalArn"}
            and _condition_holds(operator, pairs["aws:PrincipalArn"], principal_arn)
            for operator, pairs in conditions.items()
            if isinstance(pairs, dict)
        )
        if holds:
            return True
    return False


def _check_secret_policy(request: Any, resource: str) -> None:
    if not request._action.startswith("secretsmanager:") or ":secret:" not in resource:
        return
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[request.account_id][request._region].secrets.get(resource)
    policy = getattr(secret, "policy", None)
    if policy and _denied_by_resource_policy(policy, request._action, _principal_arn(request._access_key)):
        request._raise_access_denied()


_INSTANCE_SESSION = re.compile(r"i-[0-9a-f]{8,17}")


def _statement_applies(statement: Any, action: str, resource: str) -> bool:
    """Action and resource match, and the statement has no condition (TapStack's endpoint policies have none;
    a condition this fix does not evaluate makes an Allow not apply and a Deny not apply)."""
    if not isinstance(statement, dict) or statement.get("Condition"):
        return False
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    return any(_matches(a, action.lower()) for a in actions) and any(_matches(r, resource) for r in resources)


def _endpoint_allows(policy: str, action: str, resource: str) -> bool:
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    statements = as_list(doc.get("Statement") if isinstance(doc, dict) else None)
    if any(s.get("Effect") == "Deny" and _statement_applies(s, action, resource) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _statement_applies(s, action, resource) for s in statements)


def _check_endpoint_policy(request: Any, resource: str) -> None:
    session = getattr(request._access_key, "_session_name", None)
    if not request._action.startswith("s3:") or not _INSTANCE_SESSION.fullmatch(str(session)):
        return
    from moto.ec2.models import ec2_backends

    endpoints = [
        e
        for e in ec2_backends[request.account_id][request._region].vpc_end_points.values()
        if str(e.vpc_endpoint_type).lower() == "gateway" and str(e.service_name).endswith(".s3")
    ]
    if endpoints and not any(_endpoint_allows(e.policy_document, request._action, resource) for e in endpoints):
        request._raise_access_denied()


def _with_caller(original: Callable[..., Any]) -> Callable[..., Any]:
    """Remember who is asking, and what, while moto evaluates their policies: policy variables and request
    condition keys are resolved from it."""

    def check_action_permitted(request: Any, resource: str) -> None:
        _caller.userid = _user_id(request._access_key)
        _caller.context = _request_context(request)
        try:
            original(request, resource)
            _check_secret_policy(request, resource)
            _check_endpoint_policy(request, resource)
            authorization.check_s3_key_use(request, resource)
        finally:
            _caller.userid = None
            _caller.context = None

    return check_action_permitted


def _substituting_variables(original: Callable[..., bool]) -> Callable[..., bool]:
    def check_element_matches(statement: Any, element: str, value: str) -> bool:
        patterns = as_list(statement._statement.get(element, []))
        if not any(isinstance(p, str) and _USERID_VARIABLE in p for p in patterns):
            return original(statement, element, value)
        userid = getattr(_caller, "userid", None)
        resolved = [
            p.replace(_USERID_VARIABLE, userid) for p in patterns if userid is not None or _USERID_VARIABLE not in p
        ]
        return any(_matches(p, value) for p in resolved)

    return check_element_matches


def _object_lock_on_existing_buckets(
    backend: Any,
    bucket_name: str,
    lock_enabled: bool,
    mode: str | None = None,
    days: int | None = None,
    years: int | None = None,
) -> None:
    from moto.s3.exceptions import InvalidBucketState

    bucket = backend.get_bucket(bucket_name)
    if not bucket.is_versioned:
        raise InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
    if lock_enabled:
        bucket.object_lock_enabled = True
    bucket.default_lock_mode = mode
    bucket.default_lock_days = days
    bucket.default_lock_years = years


def install() -> None:
    """Apply the fixes to moto in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase
    from moto.iam.policy_conditions import CONDITION_OPERATIONS
    from moto.s3.models import FakeBucket, FakeKey, S3Backend
    from moto.s3.responses import S3Response
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    SimpleSystemManagerResponse._determine_resource = _ssm_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    wrap(S3Response, "get_bucket_replication", lambda _: _get_bucket_replication)
    FakeBucket._log_permissions_enabled_policy = mark(  # type: ignore[method-assign]
        staticmethod(_log_permissions_enabled_policy), vars(FakeBucket)["_log_permissions_enabled_policy"]
    )
    wrap(FakeBucket, "get_permission", lambda _: _bucket_permission)
    wrap(S3Backend, "put_object", _replicating_put)
    wrap(S3Backend, "delete_object", _replicating_delete)
    wrap(FakeKey, "response_dict", _with_replication_status)
    wrap(S3Backend, "put_object_lock_configuration", lambda _: _object_lock_on_existing_buckets)
    CONDITION_OPERATIONS["Bool"] = _bool_condition  # type: ignore[assignment]
    wrap(IAMPolicyStatement, "is_action_permitted", _only_when_conditions_hold)
    wrap(IAMRequestBase, "check_action_permitted", _with_caller)
    wrap(IAMPolicyStatement, "_check_element_matches", _substituting_variables)
    from moto.autoscaling.responses import AutoScalingResponse

    AutoScalingResponse.describe_instance_refreshes = instance_refresh.describe_instance_refreshes  # type: ignore[attr-defined]
    authorization.install()
    quotas.install()
    launches.install()
    _installed = True
