"""What IAM and KMS decide when the emulator itself acts as a principal, or when S3 uses a KMS key for a caller.

moto evaluates identity policies for the requests it receives (with the fixes in ``moto_fidelity``) but never a
KMS key policy, and it never acts as a role of its own: replication copies objects with no principal at all. AWS
does both, and TapStack relies on both:

- A KMS key is used only if its key policy allows it: a statement that names the caller's role grants on its own;
  one that names the account root (or ``*``) delegates to IAM, so the caller's identity policies must allow it
  too; an explicit Deny in either wins (KMS Developer Guide, "Key policies in AWS KMS" and "Determining access
  to an AWS KMS key").
- S3 encrypts and decrypts SSE-KMS objects with the caller's permissions: a read needs ``kms:Decrypt``, a write
  ``kms:GenerateDataKey``, each through S3 (``kms:ViaService`` ``s3.<region>.amazonaws.com``), on the object's
  (or the bucket's default) key (S3 User Guide, "Using server-side encryption with AWS KMS keys" > permissions).
- Replication acts as the replication role (S3 User Guide, "Setting up permissions" for replication and
  "Replicating encrypted objects"): S3 assumes it (its trust policy must admit ``s3.amazonaws.com`` for this
  account and source bucket), reads the source version, decrypts it with the source key, writes the replica,
  encrypts it with the replica key and, with an S3 Bucket Key on the destination, checks that bucket key with a
  ``kms:Decrypt`` on the replica key. A denial leaves the source version FAILED (``replication.py``).
- CreateKey and PutKeyPolicy refuse a policy naming an IAM principal that does not exist
  (``MalformedPolicyDocumentException``) and, unless the lockout safety check is bypassed, a policy that would
  no longer let the account manage the key (KMS API Reference, PutKeyPolicy, ``BypassPolicyLockoutSafetyCheck``).

The evaluator reads the policy grammar TapStack writes: ``Action``/``NotAction`` and ``Resource`` with wildcards,
``Principal`` (``AWS`` ARNs, the account root, ``*``, ``Service``), and the ``String*``, ``Arn*`` and ``Bool``
condition operators. A statement with an operator it does not know does not apply (neither its Allow nor its
Deny), so for TapStack's own policies it decides as AWS does and for others it never grants more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..graph import as_list
from .patches import wrap


class Decision(Enum):
    DENY = "deny"
    ALLOW = "allow"
    NONE = "none"


_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
_OPERATORS = {
    "StringEquals",
    "StringLike",
    "StringEqualsIgnoreCase",
    "ArnEquals",
    "ArnLike",
    "Bool",
    *_NEGATED,
}


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = ".*".join(re.escape(part).replace(r"\?", ".") for part in pattern.split("*"))
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _operator_holds(operator: str, expected: Any, actual: str | None) -> bool:
    """One condition key: a key the request lacks makes a positive operator false and a negated one true."""
    if actual is None:
        return operator in _NEGATED
    wanted = [str(v) for v in as_list(expected)]
    base = operator.replace("Not", "")
    if base in ("StringLike", "ArnLike"):
        hit = any(_matches(w, actual) for w in wanted)
    elif base in ("StringEqualsIgnoreCase", "Bool"):
        hit = actual.lower() in {w.lower() for w in wanted}
    else:
        hit = actual in wanted
    return not hit if operator in _NEGATED else hit


def conditions_hold(conditions: Mapping[str, Any] | None, context: Mapping[str, str]) -> bool | None:
    """True or False; None when a condition uses an operator this evaluator does not know."""
    for operator, pairs in (conditions or {}).items():
        if operator not in _OPERATORS or not isinstance(pairs, dict):
            return None
        for key, expected in pairs.items():
            if not _operator_holds(operator, expected, context.get(key)):
                return False
    return True


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_matches(str(a), action, case=False) for a in as_list(statement["NotAction"]))
    return any(_matches(str(a), action, case=False) for a in as_list(statement.get("Action")))


def _resource_matches(statement: Mapping[str, Any], resource: str) -> bool:
    if "Resource" not in statement:  # a key policy's statements may omit it: the key itself
        return True
    return any(_matches(str(r), resource) for r in as_list(statement["Resource"]))


def _statements(policy: Any) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str | bytes) else policy
    if not isinstance(doc, dict):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def identity_decision(policies: Iterable[Any], action: str, resource: str, context: Mapping[str, str]) -> Decision:
    """The identity policies' verdict: an explicit Deny wins, then any Allow, else nothing applies."""
    allowed = False
    for policy in policies:
        for st in _statements(policy):
            if not (_action_matches(st, action) and _resource_matches(st, resource)):
                continue
            if conditions_hold(st.get("Condition"), context) is not True:
                continue
            if st.get("Effect") == "Deny":
                return Decision.DENY
            allowed = allowed or st.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.NONE


@dataclass(frozen=True)
class Caller:
    """Who uses the key: the principal's ARN (a role or user ARN, never a session's), its account and policies."""

    principal_arn: str
    account_id: str
    policies: Sequence[Any]


def _names(principal: Any, arn: str, account_id: str) -> tuple[bool, bool]:
    """(grants the caller directly: its ARN or ``*``; delegates to the caller's account: its root)."""
    aws = ["*"] if principal == "*" else as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    direct = "*" in aws or (bool(arn) and arn in aws)
    root = rf"arn:[^:]+:iam::{account_id}:root"
    return direct, any(str(a) == account_id or re.fullmatch(root, str(a)) for a in aws)


def key_allows(key_policy: str, caller: Caller, action: str, key_arn: str, context: Mapping[str, str]) -> bool:
    """Whether KMS lets ``caller`` use the key for ``action``: key policy and, where it delegates, IAM."""
    ctx = {"aws:PrincipalArn": caller.principal_arn, "kms:CallerAccount": caller.account_id, **context}
    direct = delegated = False
    for st in _statements(key_policy):
        named, account = _names(st.get("Principal"), caller.principal_arn, caller.account_id)
        if not (named or account) or not _action_matches(st, action):
            continue
        if conditions_hold(st.get("Condition"), ctx) is not True:
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow":
            direct, delegated = direct or named, delegated or account
    identity = identity_decision(caller.policies, action, key_arn, ctx)
    if identity is Decision.DENY:
        return False
    return direct or (delegated and identity is Decision.ALLOW)


# -- moto's state -------------------------------------------------------------------------------------------


def _document(policy: Any) -> Any:
    """A policy moto hands out (a document string, a managed policy, a ``{"policy_document": ...}``) as JSON."""
    from moto.iam.access_control import IAMPolicy

    return IAMPolicy(policy)._policy_json


def role_caller(account_id: str, role_arn: str) -> tuple[Caller, Any] | None:
    """The role behind ``role_arn`` as a caller, with the moto role (None: no such role)."""
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    try:
        role = backend.get_role_by_arn(role_arn)
    except ServiceException:
        return None
    policies: list[Any] = [_document(doc) for doc in role.policies.values()]
    policies += [_document(policy) for policy in role.managed_policies.values()]
    return Caller(str(role.arn), account_id, policies), role


def trusts_service(role: Any, service: str, context: Mapping[str, str]) -> bool:
    """Whether the role's trust policy lets ``service`` assume it for this request context."""
    for st in _statements(role.assume_role_policy_document):
        principal = st.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if st.get("Effect") != "Allow" or service not in services or not _action_matches(st, "sts:AssumeRole"):
            continue
        if conditions_hold(st.get("Condition"), context) is True:
            return True
    return False


def kms_key(account_id: str, region: str, key_id: str) -> Any | None:
    """The moto key for an id, ARN or alias; None when the key does not exist (the use then fails in AWS)."""
    from moto.kms.models import kms_backends

    backend = kms_backends[account_id][region]
    try:
        return backend.describe_key(backend.get_key_id(key_id))
    except Exception:  # moto's NotFoundException, or an alias that names nothing
        return None


def key_region(key_id: str, default: str) -> str:
    parts = key_id.split(":")
    return parts[3] if key_id.startswith("arn:") and len(parts) > 3 else default


def kms_allowed(caller: Caller, region: str, key_id: str, action: str, via: str) -> bool:
    """``caller`` uses the key ``key_id`` for ``action`` through the service ``via`` (``s3``) of ``region``."""
    key = kms_key(caller.account_id, key_region(key_id, region), key_id)
    if key is None:
        return False
    context = {"kms:ViaService": f"{via}.{key_region(str(key.arn), region)}.amazonaws.com"}
    return key_allows(str(key.policy), caller, action, str(key.arn), context)


# -- S3 uses the key with the caller's permissions (SSE-KMS) ------------------------------------------------

_SSE_ACTIONS = {
    "s3:GetObject": "kms:Decrypt",
    "s3:GetObjectVersion": "kms:Decrypt",
    "s3:PutObject": "kms:GenerateDataKey",
}


def bucket_default_key(bucket: Any) -> tuple[str | None, bool]:
    """The bucket's default SSE-KMS key (None: not SSE-KMS) and whether an S3 Bucket Key is on."""
    rule = (getattr(bucket, "encryption", None) or {}).get("Rule") or {}
    if isinstance(rule, list):
        rule = rule[0] if rule else {}
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    if not str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
        return None, False
    return default.get("KMSMasterKeyID"), str(rule.get("BucketKeyEnabled", "")).lower() == "true"


def _object_key_id(request: Any, bucket: Any, key_name: str) -> str | None:
    """The KMS key of the version the request reads (the latest without ``versionId``); None: not SSE-KMS."""
    from urllib.parse import parse_qs, urlparse

    version = (parse_qs(urlparse(request._path).query).get("versionId") or [None])[0]
    versions = [v for v in bucket.keys.getlist(key_name, []) if version is None or str(v.version_id) == version]
    if not versions or getattr(versions[-1], "encryption", None) != "aws:kms" or not versions[-1].kms_key_id:
        return None
    return str(versions[-1].kms_key_id)


def _header(request: Any, name: str) -> str | None:
    for key, value in (request._headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def check_s3_key_use(request: Any, resource: str) -> None:
    """Refuse an S3 object read or write whose KMS key the caller may not use (key policy and IAM)."""
    kms_action = _SSE_ACTIONS.get(request._action)
    if kms_action is None or ":::" not in resource or "/" not in resource.split(":::", 1)[1]:
        return
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    bucket_name, key_name = resource.split(":::", 1)[1].split("/", 1)
    try:
        bucket = s3_backends[request.account_id][get_partition(request._region)].get_bucket(bucket_name)
    except Exception:  # the request itself answers NoSuchBucket
        return
    if kms_action == "kms:Decrypt":
        key_id = _object_key_id(request, bucket, key_name)
    else:
        header = _header(request, "x-amz-server-side-encryption-aws-kms-key-id")
        key_id = header or bucket_default_key(bucket)[0]
    if not key_id:
        return
    principal = _caller_principal(request._access_key)
    if principal is None:
        return
    caller = Caller(principal, request.account_id, [_document(p) for p in request._access_key.collect_policies()])
    if not kms_allowed(caller, str(bucket.region_name), str(key_id), kms_action, "s3"):
        request._raise_access_denied()


def _caller_principal(access_key: Any) -> str | None:
    from moto.core.exceptions import ServiceException

    role_name = getattr(access_key, "_owner_role_name", None)
    try:
        if role_name is not None:
            return str(access_key.backend.get_role(role_name).arn)
        return str(access_key.backend.get_user(access_key._owner_user_name).arn)
    except (ServiceException, AttributeError):
        return None


# -- CreateKey / PutKeyPolicy -------------------------------------------------------------------------------


def key_policy_problem(policy: str, account_id: str, bypass_lockout_check: bool) -> str | None:
    """Why KMS would refuse this key policy (None: it accepts it)."""
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends

    try:
        statements = _statements(policy)
    except ValueError:
        return "The new key policy is not valid JSON."
    backend = iam_backends[account_id]["aws"]
    for st in statements:
        principal = st.get("Principal")
        for arn in as_list(principal.get("AWS")) if isinstance(principal, dict) else []:
            match = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)", str(arn))
            if match is None or match.group(1) != account_id:
                continue
            try:
                (backend.get_role if match.group(2) == "role" else backend.get_user)(match.group(3))
            except ServiceException:
                return "Policy contains a statement with one or more invalid principals."
    if bypass_lockout_check:
        return None
    for st in statements:
        _, account = _names(st.get("Principal"), "", account_id)
        if (
            st.get("Effect") == "Allow"
            and account
            and not st.get("Condition")
            and _action_matches(st, "kms:PutKeyPolicy")
        ):
            return None
    return "The new key policy will not allow you to update the key policy in the future."


def _validating(original: Any) -> Any:
    def handler(response: Any) -> Any:
        from moto.core.exceptions import JsonRESTError

        policy = response._get_param("Policy")
        if policy:
            bypass = bool(response._get_param("BypassPolicyLockoutSafetyCheck"))
            problem = key_policy_problem(policy, response.current_account, bypass)
            if problem is not None:
                raise JsonRESTError("MalformedPolicyDocumentException", problem)
        return original(response)

    return handler


_installed = False


def install() -> None:
    """Validate key policies where KMS does (once per process)."""
    global _installed
    if _installed:
        return
    from moto.kms.responses import KmsResponse

    wrap(KmsResponse, "create_key", _validating)
    wrap(KmsResponse, "put_key_policy", _validating)
    _installed = True
