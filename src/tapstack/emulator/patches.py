"""What the emulator's patches of moto and werkzeug internals replace, checked before any patch is applied.

The emulator changes a few internals of moto (the fidelity fixes, the managed-policy table, KMS key pairs, Lambda
Invoke running the function's own code in-process, the operation routers) and of werkzeug (the keep-alive request
handler). A new release of either can rename, move or re-sign what a patch replaces, or change a behaviour a patch
relies on; the patch would then do nothing, and the user would see a puzzling ``AccessDenied`` three layers later (moto
5.2.6 started authorizing S3 calls by operation name, ``s3:ListObjectsV2``, instead of the IAM action,
``s3:ListBucket``, and a role allowed to list one prefix was refused). Each target below names the patch that
relies on it; ``verify`` checks every one and refuses to start the emulator with one line naming the patch, the
version found and the range the patches were verified against.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import TapStackError

MOTO_VERIFIED = ">=5.2.5,<5.2.6"
"""The moto releases every patch was verified against; pyproject's ``emulator`` extra caps moto the same way."""
WERKZEUG_VERIFIED = ">=3.1,<4"


class PatchTargetMoved(TapStackError):
    """A third-party internal that an emulator patch replaces is gone or has another shape."""


@dataclass(frozen=True)
class Target:
    """One internal a patch relies on: ``module:qualname`` exists and, for a callable, takes ``parameters``
    (leading names, in order); ``probe``, when given, checks a behaviour and returns what is wrong, or None."""

    patch: str
    module: str
    qualname: str
    parameters: tuple[str, ...] = ()
    probe: Callable[[Any], str | None] | None = None
    package: str = "moto"


F = TypeVar("F")


def mark(replacement: F, original: Any) -> F:
    """Mark a patch's replacement with what it replaced, so a later ``verify`` in the same process (the tests'
    processes apply the patches once and verify again) checks moto's original shape, not the patch's own."""
    function = replacement.fget if isinstance(replacement, property) else replacement
    function = function.__func__ if isinstance(function, staticmethod) else function
    original = original.fget if isinstance(original, property) else original
    if (original.__func__ if isinstance(original, staticmethod) else original) is function:
        return replacement  # applied again: it still replaces what it replaced the first time
    function.__wrapped__ = original.__func__ if isinstance(original, staticmethod) else original  # type: ignore[union-attr]
    return replacement


def wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Set ``owner.name`` to ``make(original)``, marked with the original it replaces (``mark``). ``original`` is the
    attribute as the class holds it: a function, or the property itself."""
    original = inspect.getattr_static(owner, name)
    setattr(owner, name, mark(make(original), original))


def _resolve(module: str, qualname: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = inspect.getattr_static(value, part) if isinstance(value, type) else getattr(value, part)
    return value


def _function_of(value: Any) -> Callable[..., Any] | None:
    if isinstance(value, property):
        return value.fget
    if isinstance(value, staticmethod | classmethod):
        return value.__func__
    return value if callable(value) else None


def problem(target: Target) -> str | None:
    """What is wrong with the target in the installed release, or None when the patch can apply."""
    try:
        value = _resolve(target.module, target.qualname)
    except (ImportError, AttributeError):
        return "is gone"
    if target.parameters:
        function = _function_of(value)
        if function is None:
            return "is no longer callable"
        try:
            names = tuple(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            return "has no signature to check"
        if names[: len(target.parameters)] != target.parameters:
            return f"takes ({', '.join(names)}), not ({', '.join(target.parameters)})"
    return target.probe(value) if target.probe is not None else None


def _iam_action_from_query(get_action: Any) -> str | None:
    """moto must still take an S3 request's IAM action from the ``Action`` S3's handler sets (``s3:ListBucket``
    for ListObjectsV2, as AWS authorizes it), not from the operation's name."""
    from moto.core.responses import BaseResponse

    response = BaseResponse.__new__(BaseResponse)
    response.querystring = {"Action": ["ListBucket"]}
    response.headers = {}
    try:
        action = get_action(response)
    except Exception as err:  # moto reaches for the routed request instead: the behaviour moved
        return f"no longer takes the IAM action from the request's Action ({type(err).__name__})"
    return None if action == "ListBucket" else f"answers {action!r} for Action=ListBucket"


def _is_dict(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"is a {type(value).__name__}, not a table of operators"


def _lacks_describe_instance_refreshes(cls: Any) -> str | None:
    """``instance_refresh`` adds the handler moto lacks: moto must still lack it, or moto's own would be shadowed."""
    from .instance_refresh import describe_instance_refreshes

    found = vars(cls).get("describe_instance_refreshes")
    return None if found in (None, describe_instance_refreshes) else "now implements DescribeInstanceRefreshes"


def _asks_determine_resource(call_action: Any) -> str | None:
    """The SSM and secret fixes add ``_determine_resource`` to their services' responses: moto must still ask it
    for the resource it authorizes a call against."""
    try:
        source = inspect.getsource(call_action)
    except (OSError, TypeError):
        return "has no source to check"
    return None if "_determine_resource" in source else "no longer asks _determine_resource for the resource"


_FIDELITY = "moto_fidelity"
TARGETS: tuple[Target, ...] = (
    Target(
        f"{_FIDELITY} (SSM parameter and secret ARNs)",
        "moto.core.responses",
        "BaseResponse.call_action",
        ("self",),
        _asks_determine_resource,
    ),
    Target(f"{_FIDELITY} (SSM parameter ARNs)", "moto.ssm.responses", "SimpleSystemManagerResponse"),
    Target(f"{_FIDELITY} (secret ARNs)", "moto.secretsmanager.responses", "SecretsManagerResponse"),
    Target(f"{_FIDELITY} (replication read back)", "moto.s3.responses", "S3Response.get_bucket_replication", ("self",)),
    Target(
        f"{_FIDELITY} (access-logging grant)",
        "moto.s3.models",
        "FakeBucket._log_permissions_enabled_policy",
        ("target_bucket", "target_prefix"),
    ),
    Target(f"{_FIDELITY} (TLS-only bucket policy)", "moto.s3.models", "FakeBucket.get_permission", ("self", "action")),
    Target(f"{_FIDELITY} (replication)", "moto.s3.models", "S3Backend.put_object", ("self", "bucket_name", "key_name")),
    Target(
        f"{_FIDELITY} (replication)",
        "moto.s3.models",
        "S3Backend.delete_object",
        ("self", "bucket_name", "key_name", "version_id", "bypass"),
    ),
    Target(f"{_FIDELITY} (replication status)", "moto.s3.models", "FakeKey.response_dict", ("self",)),
    Target(f"{_FIDELITY} (aws:SecureTransport)", "moto.iam.policy_conditions", "CONDITION_OPERATIONS", (), _is_dict),
    Target(
        f"{_FIDELITY} (conditions)",
        "moto.iam.access_control",
        "IAMPolicyStatement.is_action_permitted",
        ("self", "action", "resource", "principal", "incoming_condition_values"),
    ),
    Target(f"{_FIDELITY} (conditions)", "moto.iam.access_control", "IAMPolicyStatement._check_conditions", ("self",)),
    Target(
        f"{_FIDELITY} (policy variables)",
        "moto.iam.access_control",
        "IAMPolicyStatement._check_element_matches",
        ("self", "statement_element", "value"),
    ),
    Target(
        f"{_FIDELITY} (request context)",
        "moto.iam.access_control",
        "IAMRequestBase.check_action_permitted",
        ("self", "resource"),
    ),
    Target(
        f"{_FIDELITY} (request context)", "moto.iam.access_control", "IAMRequestBase._raise_access_denied", ("self",)
    ),
    Target(
        f"{_FIDELITY} (s3:prefix)", "moto.core.responses", "BaseResponse._get_action", ("self",), _iam_action_from_query
    ),
    Target(
        f"{_FIDELITY} (Object Lock on a bucket with objects)",
        "moto.s3.models",
        "S3Backend.put_object_lock_configuration",
        ("self", "bucket_name", "lock_enabled", "mode", "days", "years"),
    ),
    Target("authorization (key policies validated)", "moto.kms.responses", "KmsResponse.create_key", ("self",)),
    Target("authorization (key policies validated)", "moto.kms.responses", "KmsResponse.put_key_policy", ("self",)),
    Target("authorization (key policies evaluated)", "moto.kms.models", "kms_backends"),
    Target("authorization (replication as its role)", "moto.iam.models", "iam_backends"),
    Target(
        "quotas (Lambda concurrency)",
        "moto.awslambda.models",
        "LambdaBackend.put_function_concurrency",
        ("self", "function_name", "reserved_concurrency"),
    ),
    Target(
        "launches (metadata tag keys)",
        "moto.ec2.models.instances",
        "InstanceBackend.run_instances",
        ("self", "image_id", "count", "user_data", "security_group_names"),
    ),
    Target(
        "launches (metadata tag keys)",
        "moto.autoscaling.models",
        "FakeAutoScalingGroup.replace_autoscaling_group_instances",
        ("self", "count_needed", "propagated_tags"),
    ),
    Target("managed_policies", "moto.iam.models", "IAMBackend._init_aws_policies", ("self",)),
    Target(
        "instance_refresh (DescribeInstanceRefreshes)",
        "moto.autoscaling.responses",
        "AutoScalingResponse",
        (),
        _lacks_describe_instance_refreshes,
    ),
    Target("managed_policies", "moto.iam.models", "AWSManagedPolicy"),
    Target("managed_policies", "moto.iam.aws_managed_policies", "aws_managed_policies_data"),
    Target("managed_policies", "moto.settings", "load_iam_aws_managed_policies"),
    Target("kms_keys", "moto.kms.models", "generate_private_key", ("key_spec",)),
    Target(
        "lambda_invoke (Lambda Invoke runs the handler in-process)",
        "moto.awslambda.models",
        "LambdaFunction.invoke",
        ("self", "body", "request_headers", "response_headers"),
    ),
    Target("routing", "moto.core.routing", "ServiceOperationRouter._get_router", ("self", "protocol")),
    Target("routing", "moto.core.routing", "get_router_class"),
    Target("routing", "moto.core.routing", "get_service_router"),
    Target("routing", "moto.moto_server.werkzeug_app", "DomainDispatcherApplication.get_backend_for_host", ("self",)),
    Target("routing", "moto.moto_server.werkzeug_app", "create_backend_app", ("service",)),
    Target("keepalive", "moto.moto_server.werkzeug_app", "MotoRequestHandler"),
    Target("keepalive", "werkzeug.serving", "WSGIRequestHandler.make_environ", ("self",), package="werkzeug"),
    Target("keepalive", "werkzeug.serving", "WSGIRequestHandler.run_wsgi", ("self",), package="werkzeug"),
    Target("keepalive", "werkzeug.wsgi", "LimitedStream.exhaust", ("self",), package="werkzeug"),
)

_VERIFIED = {"moto": MOTO_VERIFIED, "werkzeug": WERKZEUG_VERIFIED}


def refusal(target: Target, what: str) -> str:
    """The one line a user sees for a moved target."""
    found = importlib.metadata.version(target.package)
    return (
        f"emulator patch {target.patch}: {target.package} {found} {target.module}.{target.qualname} {what}; the "
        f"patch was verified against {target.package}{_VERIFIED[target.package]} (install the locked versions: "
        "pip install -c requirements.lock -e '.[dev]')"
    )


class EmulatorNotInstalled(TapStackError):
    """The emulator's extra (moto) is not installed: the Pulumi program's own environment has no use for it."""


def verify(targets: Iterable[Target] | None = None) -> None:
    """Refuse, with the first moved target's line, before any patch is applied."""
    try:
        import moto  # noqa: F401
    except ImportError:
        raise EmulatorNotInstalled(
            "the embedded emulator needs moto, which this environment lacks: "
            "pip install -c requirements.lock -e '.[emulator]' (a development install, '.[dev]', has it)"
        ) from None
    for target in TARGETS if targets is None else targets:
        what = problem(target)
        if what is not None:
            raise PatchTargetMoved(refusal(target, what))
