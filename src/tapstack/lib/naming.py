"""The one place that formats physical AWS names.

Every name is ``<project>-<what>[-<region code>][-<account>]-<suffix>``: lowercase, only characters every
AWS service accepts, and checked against the limit of the service that will hold it. Buckets carry the
account id so that the name is globally unique without being random (a redeploy keeps the same name).
"""

from __future__ import annotations

import re
from enum import Enum, unique

from ..errors import TapStackError
from .regions import region_code


@unique
class NameKind(Enum):
    """Resource kinds with their AWS name length limits (values are (label, limit) so no two kinds alias)."""

    BUCKET = ("bucket", 63)
    IAM_ROLE = ("iam role", 64)
    IAM_POLICY = ("iam policy", 128)
    INSTANCE_PROFILE = ("instance profile", 128)
    LAMBDA = ("lambda function", 64)
    LOG_GROUP = ("log group", 512)
    SNS_TOPIC = ("sns topic", 256)
    ALARM = ("alarm", 255)
    LAUNCH_TEMPLATE = ("launch template", 128)
    ASG = ("auto scaling group", 255)
    SECURITY_GROUP = ("security group", 255)
    SECRET = ("secret", 512)
    KMS_ALIAS = ("kms alias", 256)
    SSM_PARAMETER = ("ssm parameter", 1011)
    SQS_QUEUE = ("sqs queue", 80)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def limit(self) -> int:
        return self.value[1]


PLACEHOLDER_ACCOUNT = "123456789012"
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


class PhysicalNameError(TapStackError, ValueError):
    """A physical name that AWS would reject."""


def normalize(part: str) -> str:
    """Lowercase and replace what AWS rejects with dashes, so 'Data_Bucket' and 'data-bucket' agree."""
    cleaned = _DASHES.sub("-", _INVALID.sub("-", part.strip().lower()))
    return cleaned.strip("-")


def physical_name(
    kind: NameKind,
    project: str,
    what: str,
    suffix: str,
    region: str | None = None,
    account_id: str | None = None,
) -> str:
    """Build and length-check one physical name; raise PhysicalNameError naming the limit when it is too long."""
    parts = [project, what]
    if region is not None:
        parts.append(region_code(region))
    if account_id is not None:
        parts.append(account_id)
    parts.append(suffix)
    name = "-".join(p for p in (normalize(x) for x in parts) if p)
    if len(name) > kind.limit:
        raise PhysicalNameError(
            f"name {name!r} is {len(name)} characters; AWS allows at most {kind.limit} for "
            f"{kind.label} names: shorten the project or environment suffix"
        )
    return name


def log_group_name(project: str, what: str, suffix: str, region: str) -> str:
    """Log groups are path-like by convention (``/tapstack/<what>/<region>/<suffix>``)."""
    name = "/" + "/".join(normalize(p) for p in (project, what, region_code(region), suffix))
    if len(name) > NameKind.LOG_GROUP.limit:
        raise PhysicalNameError(f"log group name {name!r} exceeds {NameKind.LOG_GROUP.limit} characters")
    return name


def lambda_log_group_name(function_name: str) -> str:
    """Lambda writes to this exact group; creating it ourselves is what lets us set its retention."""
    return f"/aws/lambda/{function_name}"


def parameter_name(project: str, suffix: str, what: str) -> str:
    """SSM parameters are hierarchical: ``/<project>/<suffix>/<what>``."""
    return "/" + "/".join(normalize(p) for p in (project, suffix)) + "/" + what.strip("/")
