"""validate: the region's dependencies, each checked for real with the calls the function itself makes.

A check passes only on evidence (an API answer that shows the property); an error from AWS is a failed
check carrying AWS's code and message, never an exception, so one broken dependency does not hide the rest.
The last check, ``fleet``, also returns the fleet section it judged (see ``fleet``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import ARTIFACTS_PREFIX, POINTER_KEY, Reply

from .clients import describe, error_code
from .fleet import Unavailable, survey
from .outcomes import ServerError
from .services import Services
from .settings import REQUIRED_KEYS, parse_config

REPLICATED_PREFIX = ARTIFACTS_PREFIX
"""The one prefix that must reach every secondary: the releases the instances there install."""


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


def _filter_prefix(rule: dict[str, Any]) -> str | None:
    """The key prefix a rule selects, or None when it also selects by tag or size (so not every object)."""
    if "Filter" not in rule:
        return str(rule.get("Prefix") or "")  # the older rule schema: a top-level prefix
    selection = rule.get("Filter") or {}
    if "And" in selection:
        both = selection["And"] or {}
        return None if set(both) - {"Prefix"} else str(both.get("Prefix") or "")
    return None if set(selection) - {"Prefix"} else str(selection.get("Prefix") or "")


def _gaps(rule: dict[str, Any]) -> list[str]:
    """Why an enabled rule does not carry releases to its destination as TapStack relies on; [] if it does."""
    gaps = []
    prefix = _filter_prefix(rule)
    if prefix is None:
        gaps.append(f"filters by tag or size, so not every object under {REPLICATED_PREFIX} replicates")
    elif not REPLICATED_PREFIX.startswith(prefix):
        gaps.append(f"filters prefix {prefix!r}, which does not cover {REPLICATED_PREFIX}")
    markers = (rule.get("DeleteMarkerReplication") or {}).get("Status") or "not set"
    if markers != "Enabled":
        gaps.append(f"delete-marker replication is {markers}")
    rtc = ((rule.get("Destination") or {}).get("ReplicationTime") or {}).get("Status") or "not set"
    if rtc != "Enabled":
        gaps.append(f"Replication Time Control is {rtc}")
    return gaps


def _replication(svc: Services) -> str:
    try:
        rules = svc.s3.get_bucket_replication(Bucket=svc.settings.bucket)["ReplicationConfiguration"]["Rules"]
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            raise Failed("the deployment bucket has no replication configuration") from None
        raise
    missing: list[str] = []
    findings: list[str] = []
    for bucket in svc.settings.replica_buckets:
        enabled = [
            r
            for r in rules
            if r.get("Status") == "Enabled"
            and str((r.get("Destination") or {}).get("Bucket", "")).rsplit(":", 1)[-1] == bucket
        ]
        if not enabled:
            missing.append(bucket)
            continue
        gaps = {str(r.get("ID") or f"priority {r.get('Priority')}"): _gaps(r) for r in enabled}
        if any(not g for g in gaps.values()):
            continue
        findings.extend(f"{bucket}: rule {rule_id} {'; '.join(g)}" for rule_id, g in gaps.items())
    if missing:
        findings.insert(0, f"no enabled replication rule for {', '.join(missing)}")
    if findings:
        raise Failed(" | ".join(findings))
    return (
        f"enabled rules replicate {REPLICATED_PREFIX} to {', '.join(svc.settings.replica_buckets)} "
        "with delete markers and Replication Time Control"
    )


def _fleet(svc: Services) -> tuple[Check, dict[str, Any]]:
    """The ``fleet`` check and the section it judged; the survey's own failure is a failed check."""
    try:
        # Without a group there is nothing to compare with the release: the pointer is not even read.
        found = svc.bucket.read_json(POINTER_KEY) if svc.settings.asg_name else None
        fleet = survey(svc, found[0] if found is not None else None)
    except Unavailable as exc:
        return Check("fleet", False, str(exc)), {"region": svc.settings.region, "error": str(exc)}
    except ServerError as exc:
        return Check("fleet", False, exc.message), {"region": svc.settings.region, "error": exc.message}
    except (ClientError, BotoCoreError) as exc:
        return Check("fleet", False, describe(exc)), {"region": svc.settings.region, "error": describe(exc)}
    return Check("fleet", not fleet.failing, fleet.detail), fleet.section


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
    fleet_check, fleet = _fleet(svc)
    results.append(fleet_check)
    failing = [c.name for c in results if not c.ok]
    body = {"checks": [asdict(c) for c in results], "failing": failing, "fleet": fleet}
    if failing:
        return Reply(503, "failure", f"{len(failing)} of {len(results)} checks failed: {', '.join(failing)}", body)
    return Reply(200, "success", f"all {len(results)} checks passed", body)
