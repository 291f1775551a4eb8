"""validate: the region's dependencies, each checked for real with the calls the function itself makes.

A check passes only on evidence (an API answer that shows the property); an error from AWS is a failed
check carrying AWS's code and message, never an exception, so one broken dependency does not hide the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from botocore.exceptions import BotoCoreError, ClientError

from .clients import describe, error_code
from .outcomes import Reply
from .services import Services
from .settings import REQUIRED_KEYS, parse_config


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Failed(Exception):
    """A check's negative finding, raised from inside it so each check reads top to bottom."""


def _bucket_reachable(svc: Services) -> str:
    svc.s3.head_bucket(Bucket=svc.settings.bucket)
    return f"s3://{svc.settings.bucket} is reachable"


def _bucket_versioning(svc: Services) -> str:
    state = svc.s3.get_bucket_versioning(Bucket=svc.settings.bucket).get("Status")
    if state != "Enabled":
        raise Failed(
            f"versioning is {state or 'not enabled'}; expected Enabled "
            "(replication and recovering overwritten records need it)"
        )
    return "versioning is Enabled"


def _bucket_encryption(svc: Services) -> str:
    try:
        config = svc.s3.get_bucket_encryption(Bucket=svc.settings.bucket)["ServerSideEncryptionConfiguration"]
    except ClientError as exc:
        if error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            raise Failed("no default encryption configuration") from None
        raise
    algorithms = sorted(
        {r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "") for r in config.get("Rules", [])}
        - {""}
    )
    if not algorithms:
        raise Failed("the encryption configuration has no default algorithm")
    return f"default encryption {', '.join(algorithms)}"


def _config_parameter(svc: Services) -> str:
    name = svc.settings.config_parameter
    parameter = svc.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    if parameter.get("Type") != "SecureString":
        raise Failed(f"{name} is a {parameter.get('Type')} parameter; expected SecureString")
    try:
        config = parse_config(parameter["Value"])
    except ValueError as exc:
        raise Failed(f"{name} {exc}") from None
    region = svc.settings.region
    if config.region != region:
        raise Failed(f"{name} is for region {config.region}, but this function runs in {region}")
    expected_primary = config.primary_region == region
    if expected_primary != svc.settings.primary:
        role = "primary" if svc.settings.primary else "secondary"
        raise Failed(f"{name} names {config.primary_region} as primary region, but this function is a {role}")
    return f"{name} is a SecureString holding valid JSON with {', '.join(REQUIRED_KEYS)}"


def _secret(svc: Services) -> str:
    response = svc.secrets.get_secret_value(SecretId=svc.settings.secret_arn)
    # Only whether a value is there: the value itself is never kept, returned or logged.
    if not (response.get("SecretString") or response.get("SecretBinary")):
        raise Failed(f"{svc.settings.secret_arn} has an empty value")
    stages = ", ".join(response.get("VersionStages", [])) or "no stage"
    return f"{svc.settings.secret_arn} is readable ({stages})"


def _deployment_topic(svc: Services) -> str:
    attributes = svc.sns.get_topic_attributes(TopicArn=svc.settings.topic_arn)["Attributes"]
    encrypted = "KMS-encrypted" if attributes.get("KmsMasterKeyId") else "not encrypted"
    return f"{svc.settings.topic_arn} exists ({encrypted})"


def _replication(svc: Services) -> str:
    try:
        rules = svc.s3.get_bucket_replication(Bucket=svc.settings.bucket)["ReplicationConfiguration"]["Rules"]
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            raise Failed("the deployment bucket has no replication configuration") from None
        raise
    covered = {
        str(r.get("Destination", {}).get("Bucket", "")).rsplit(":", 1)[-1]
        for r in rules
        if r.get("Status") == "Enabled"
    }
    missing = [b for b in svc.settings.replica_buckets if b not in covered]
    if missing:
        raise Failed(f"no enabled replication rule for {', '.join(missing)}")
    return f"enabled replication rules for {', '.join(svc.settings.replica_buckets)}"


def _run(name: str, check: Callable[[Services], str], svc: Services) -> Check:
    try:
        return Check(name, True, check(svc))
    except Failed as finding:
        return Check(name, False, str(finding))
    except (ClientError, BotoCoreError) as exc:
        return Check(name, False, describe(exc))


def validate(svc: Services) -> Reply:
    checks: list[tuple[str, Callable[[Services], str]]] = [
        ("deployment_bucket_reachable", _bucket_reachable),
        ("deployment_bucket_versioning", _bucket_versioning),
        ("deployment_bucket_encryption", _bucket_encryption),
        ("config_parameter", _config_parameter),
        ("secret", _secret),
        ("deployment_topic", _deployment_topic),
    ]
    # A secondary or a single-region primary has no replicas: no check at all rather than a vacuous pass.
    if svc.settings.primary and svc.settings.replica_buckets:
        checks.append(("replication_to_secondaries", _replication))
    results = [_run(name, check, svc) for name, check in checks]
    failing = [c.name for c in results if not c.ok]
    body = {"checks": [asdict(c) for c in results], "failing": failing}
    if failing:
        return Reply(503, "failure", f"{len(failing)} of {len(results)} checks failed: {', '.join(failing)}", body)
    return Reply(200, "success", f"all {len(results)} checks passed", body)
