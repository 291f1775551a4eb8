"""The catalogue of physical names the program builds: one entry per (kind, what, scope).

``stack.py`` builds every name from an entry here (``StackConfig.name`` takes nothing else) and ``config.py``
length-checks every entry before a resource is registered, so a name the program uses is a name config checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .naming import NameKind
from .regions import region_code


class Scope(Enum):
    """Which regions carry the name."""

    REGION = "every region"
    PRIMARY = "the primary region only"
    PER_SECONDARY = "the primary region, once per secondary region"


@dataclass(frozen=True)
class Name:
    """One physical name; with ``Scope.PER_SECONDARY`` its ``what`` holds ``{code}``, the secondary's region code."""

    kind: NameKind
    what: str
    scope: Scope = Scope.REGION

    def what_for(self, secondary: str | None) -> str:
        if self.scope is Scope.PER_SECONDARY:
            if secondary is None:
                raise ValueError(f"{self.what!r} is named once per secondary region: pass the secondary")
            return self.what.format(code=region_code(secondary))
        return self.what


DEPLOY_BUCKET = Name(NameKind.BUCKET, "deploy")
LOGS_BUCKET = Name(NameKind.BUCKET, "logs")
DATA_BUCKET = Name(NameKind.BUCKET, "data")
INSTANCE_ROLE = Name(NameKind.IAM_ROLE, "instance")
FLOWLOGS_ROLE = Name(NameKind.IAM_ROLE, "flowlogs")
MIGRATION_ROLE = Name(NameKind.IAM_ROLE, "migration")
ROTATION_ROLE = Name(NameKind.IAM_ROLE, "rotation")
REPLICATION_ROLE = Name(NameKind.IAM_ROLE, "replication", Scope.PRIMARY)
INSTANCE_PROFILE = Name(NameKind.INSTANCE_PROFILE, "instance")
MIGRATION_FUNCTION = Name(NameKind.LAMBDA, "migration")
ROTATION_FUNCTION = Name(NameKind.LAMBDA, "rotation")
DEAD_LETTER_QUEUE = Name(NameKind.SQS_QUEUE, "migration-dlq")
ROTATION_DEAD_LETTER_QUEUE = Name(NameKind.SQS_QUEUE, "rotation-dlq")
ALARM_TOPIC = Name(NameKind.SNS_TOPIC, "alarms")
DEPLOYMENT_TOPIC = Name(NameKind.SNS_TOPIC, "deployments")
COMPUTE_ALARMS = tuple(Name(NameKind.ALARM, w) for w in ("cpu-high", "cpu-low", "in-service-low"))
FUNCTION_ALARMS = tuple(
    Name(NameKind.ALARM, w) for w in ("lambda-errors", "lambda-throttles", "failed-replies", "dead-letters")
)
ROTATION_ALARMS = tuple(
    Name(NameKind.ALARM, w) for w in ("rotation-errors", "rotation-throttles", "rotation-dead-letters")
)
REPLICATION_LATENCY_ALARM = Name(NameKind.ALARM, "replication-latency")
REPLICATION_FAILED_ALARM = Name(NameKind.ALARM, "replication-failed-{code}", Scope.PER_SECONDARY)
LAUNCH_TEMPLATE = Name(NameKind.LAUNCH_TEMPLATE, "app")
AUTO_SCALING_GROUP = Name(NameKind.ASG, "app")
APP_SECURITY_GROUP = Name(NameKind.SECURITY_GROUP, "app")
ENDPOINTS_SECURITY_GROUP = Name(NameKind.SECURITY_GROUP, "endpoints")
MIGRATION_SECURITY_GROUP = Name(NameKind.SECURITY_GROUP, "migration")
MIGRATION_SECRET = Name(NameKind.SECRET, "migration-token")
KEY_ALIAS = Name(NameKind.KMS_ALIAS, "key")

CATALOGUE: tuple[Name, ...] = (
    DEPLOY_BUCKET,
    LOGS_BUCKET,
    DATA_BUCKET,
    INSTANCE_ROLE,
    FLOWLOGS_ROLE,
    MIGRATION_ROLE,
    ROTATION_ROLE,
    REPLICATION_ROLE,
    INSTANCE_PROFILE,
    MIGRATION_FUNCTION,
    ROTATION_FUNCTION,
    DEAD_LETTER_QUEUE,
    ROTATION_DEAD_LETTER_QUEUE,
    ALARM_TOPIC,
    DEPLOYMENT_TOPIC,
    *COMPUTE_ALARMS,
    *FUNCTION_ALARMS,
    *ROTATION_ALARMS,
    REPLICATION_LATENCY_ALARM,
    REPLICATION_FAILED_ALARM,
    LAUNCH_TEMPLATE,
    AUTO_SCALING_GROUP,
    APP_SECURITY_GROUP,
    ENDPOINTS_SECURITY_GROUP,
    MIGRATION_SECURITY_GROUP,
    MIGRATION_SECRET,
    KEY_ALIAS,
)
"""Every name the program builds; ``config._check_names`` checks each one in the regions its scope says."""


def uses(primary: str, regions: tuple[str, ...] | list[str], name: Name) -> list[tuple[str, str | None]]:
    """The (region, secondary) pairs a name is built for in a deployment."""
    secondaries = [r for r in regions if r != primary]
    if name.scope is Scope.PRIMARY:
        return [(primary, None)]
    if name.scope is Scope.PER_SECONDARY:
        return [(primary, s) for s in secondaries]
    return [(r, None) for r in regions]
