"""The only reader of Pulumi configuration: turns ``tapstack:*`` keys into a frozen, validated StackConfig.

Every bad value raises ConfigError naming the key, the value received and what is allowed, before a single
resource is registered: a deployment that cannot succeed should not start.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

import pulumi

from .errors import TapStackError
from .lib import cidr
from .lib.naming import (
    PLACEHOLDER_ACCOUNT,
    NameKind,
    PhysicalNameError,
    log_group_name,
    parameter_name,
    physical_name,
)
from .lib.regions import REGION_CODES

NAMESPACE = "tapstack"
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")


class ConfigError(TapStackError, ValueError):
    """A configuration value TapStack cannot deploy; the message is meant for the person who set it."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{NAMESPACE}:{key}: got {value!r}; {allowed}")


class NatStrategy(StrEnum):
    """How private subnets reach the internet: no NAT, one shared NAT, or one per AZ (HA)."""

    NONE = "none"
    SINGLE = "single"
    PER_AZ = "per_az"


class KmsMode(StrEnum):
    """Which keys encrypt data at rest (SNS topics always use the region key; see README)."""

    AWS_MANAGED = "aws-managed"
    CUSTOMER_MANAGED = "customer-managed"


@dataclass(frozen=True)
class Features:
    compute: bool = True
    migration: bool = True


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs, validated. Field docs are the configuration reference."""

    environment_suffix: str
    project: str = "tapstack"
    regions: tuple[str, ...] = ("us-east-1",)
    vpc_cidrs: Mapping[str, str] = field(default_factory=dict)
    az_count: int = 2
    nat_strategy: NatStrategy = NatStrategy.PER_AZ
    instance_type: str = "t3.micro"
    asg_min_size: int = 1
    asg_desired_capacity: int = 2
    asg_max_size: int = 4
    health_check_grace_period_seconds: int = 300
    log_retention_days: int = 90
    alarm_email: str | None = None
    kms: KmsMode = KmsMode.CUSTOMER_MANAGED
    tags: Mapping[str, str] = field(default_factory=dict)
    features: Features = field(default_factory=Features)
    secret_recovery_window_days: int = 7

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return self.regions[1:]

    def name(self, kind: NameKind, what: str, region: str | None = None, account_id: str | None = None) -> str:
        """The single naming entry point for the program: every physical name comes from here."""
        return physical_name(kind, self.project, what, self.environment_suffix, region, account_id)

    def log_group(self, what: str, region: str) -> str:
        return log_group_name(self.project, what, self.environment_suffix, region)

    def parameter(self, what: str) -> str:
        return parameter_name(self.project, self.environment_suffix, what)


# (key in Pulumi config, attribute, documented default, allowed values, meaning) — also the README table.
CONFIG_REFERENCE: tuple[tuple[str, str, str, str], ...] = (
    (
        "environmentSuffix",
        "`ENVIRONMENT_SUFFIX` env var, else `dev`",
        "1-20 of `a-z 0-9 -`",
        "appended to every physical name; separates stacks in one account",
    ),
    ("project", "`tapstack`", "2-24 of `a-z 0-9 -`, starts with a letter", "first part of every physical name"),
    (
        "regions",
        "`[us-east-1]`",
        "distinct known regions; the first is the primary",
        "where to deploy; secondaries receive replicated deployments",
    ),
    (
        "vpcCidrs",
        "`10.<16*i>.0.0/16` per region",
        "map region -> IPv4 CIDR /16../24, no overlaps",
        "VPC address space per region",
    ),
    ("azCount", "`2`", "2-6", "availability zones per region (one public and one private subnet each)"),
    (
        "natStrategy",
        "`per_az`",
        "`none`, `single`, `per_az`",
        "one NAT gateway per AZ (HA), one shared, or none (private subnets have no internet route)",
    ),
    ("instanceType", "`t3.micro`", "an EC2 instance type such as `t3.small`", "application instances"),
    ("asgMinSize", "`1`", "0-100, <= asgDesiredCapacity", "Auto Scaling Group minimum"),
    ("asgDesiredCapacity", "`2`", "asgMinSize..asgMaxSize", "Auto Scaling Group desired capacity"),
    ("asgMaxSize", "`4`", ">= asgDesiredCapacity, <= 100", "Auto Scaling Group maximum"),
    ("healthCheckGracePeriodSeconds", "`300`", "0-7200", "EC2 health check grace period"),
    (
        "logRetentionDays",
        "`90`",
        "a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)",
        "retention of every log group",
    ),
    ("alarmEmail", "none", "an email address", "subscribed to the alarm and deployment topics"),
    (
        "kms",
        "`customer-managed`",
        "`aws-managed`, `customer-managed`",
        "customer-managed: the region key (rotation on) encrypts buckets, parameters and secrets; "
        "aws-managed: SSE-S3 and the AWS-managed keys. Topics always use the region key",
    ),
    ("tags", "`{}`", "map of string -> string", "extra tags on every resource (ownership tags win)"),
    (
        "features",
        "`{compute: true, migration: true}`",
        "booleans",
        "system A (network + compute) and/or system B (migration platform)",
    ),
    ("secretRecoveryWindowDays", "`7`", "0 or 7-30", "how long a deleted secret can be restored"),
    (
        "migrationToken",
        "none (required with migration)",
        "a Pulumi secret (`pulumi config set --secret`)",
        "value stored in the Secrets Manager secret",
    ),
)


def _int(key: str, raw: Any, lo: int, hi: int) -> int:
    try:
        value = int(raw)
        if isinstance(raw, float | bool) or str(value) != str(raw).strip():
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(key, raw, f"expected a whole number from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise ConfigError(key, raw, f"expected a whole number from {lo} to {hi}")
    return value


def _bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise ConfigError(key, raw, "expected true or false")


def _enum(key: str, raw: Any, enum: type[Enum]) -> Any:
    try:
        return enum(raw)
    except ValueError:
        raise ConfigError(key, raw, "allowed: " + ", ".join(str(e.value) for e in enum)) from None


def _regions(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [r.strip() for r in raw.split(",") if r.strip()]
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        raise ConfigError("regions", raw, "expected a non-empty list of region names")
    seen: set[str] = set()
    for region in raw:
        if region not in REGION_CODES:
            raise ConfigError("regions", region, "allowed: " + ", ".join(REGION_CODES))
        if region in seen:
            raise ConfigError("regions", region, "each region may appear once (duplicate)")
        seen.add(region)
    if len(raw) > 16:
        raise ConfigError("regions", raw, "at most 16 regions")
    return tuple(raw)


def _vpc_cidrs(raw: Any, regions: tuple[str, ...]) -> dict[str, str]:
    given = raw or {}
    if not isinstance(given, dict):
        raise ConfigError("vpcCidrs", raw, "expected a map of region -> CIDR")
    unknown = sorted(set(given) - set(regions))
    if unknown:
        raise ConfigError("vpcCidrs", unknown, f"keys must be deployed regions: {', '.join(regions)}")
    plan: dict[str, str] = {}
    for i, region in enumerate(regions):
        value = given.get(region, cidr.default_vpc_cidr(i))
        try:
            net = ipaddress.IPv4Network(value)
        except (ValueError, TypeError):
            raise ConfigError(f"vpcCidrs.{region}", value, "expected an IPv4 network such as 10.0.0.0/16") from None
        if not 16 <= net.prefixlen <= 24:
            raise ConfigError(f"vpcCidrs.{region}", value, "AWS allows VPC sizes /16 to /24 (use /16../24)")
        plan[region] = str(net)
    overlap = cidr.find_overlap(plan)
    if overlap:
        a, b = overlap
        raise ConfigError(
            "vpcCidrs", {a: plan[a], b: plan[b]}, f"VPCs of {a} and {b} overlap; give each region its own range"
        )
    return plan


def _tags(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError("tags", raw, "expected a map of string -> string")
    for k, v in raw.items():
        if not 1 <= len(k) <= 128 or len(v) > 256 or k.lower().startswith("aws:"):
            raise ConfigError(f"tags.{k}", v, "keys 1-128 characters not starting with 'aws:', values <= 256")
    return dict(raw)


def _features(raw: Any) -> Features:
    if raw is None:
        return Features()
    if not isinstance(raw, dict):
        raise ConfigError("features", raw, "expected {compute: bool, migration: bool}")
    unknown = sorted(set(raw) - {"compute", "migration"})
    if unknown:
        raise ConfigError("features", unknown, "allowed keys: compute, migration")
    feats = Features(
        compute=_bool("features.compute", raw.get("compute", True)),
        migration=_bool("features.migration", raw.get("migration", True)),
    )
    if not (feats.compute or feats.migration):
        raise ConfigError("features", raw, "enable at least one of compute, migration")
    return feats


def _check_names(cfg: StackConfig) -> None:
    """Build every physical name the program will use, for every region, and reject any over its limit."""
    kinds = {
        NameKind.BUCKET: ("deploy", "logs", "data"),
        NameKind.IAM_ROLE: ("instance", "flowlogs", "migration", "replication"),
        NameKind.INSTANCE_PROFILE: ("instance",),
        NameKind.LAMBDA: ("migration",),
        NameKind.SNS_TOPIC: ("alarms", "deployments"),
        NameKind.ALARM: (
            "lambda-throttles",
            "cpu-high",
            "cpu-low",
            "lambda-errors",
            "in-service-low",
            "failed-replies",
        ),
        NameKind.LAUNCH_TEMPLATE: ("app",),
        NameKind.ASG: ("app",),
        NameKind.SECURITY_GROUP: ("app",),
        NameKind.SECRET: ("migration-token",),
        NameKind.KMS_ALIAS: ("key",),
    }
    for region in cfg.regions:
        for kind, whats in kinds.items():
            for what in whats:
                account = PLACEHOLDER_ACCOUNT if kind is NameKind.BUCKET else None
                try:
                    cfg.name(kind, what, region, account)
                except PhysicalNameError as err:
                    raise ConfigError("environmentSuffix", cfg.environment_suffix, str(err)) from None


Getter = Callable[[str], Any]


def build(get: Getter, env: Mapping[str, str] | None = None) -> StackConfig:
    """Validate raw values from ``get(key)`` (None when unset); pure, so every rule is unit-tested."""
    env = os.environ if env is None else env
    suffix = get("environmentSuffix") or env.get("ENVIRONMENT_SUFFIX") or "dev"
    if not isinstance(suffix, str) or not _SUFFIX.match(suffix):
        raise ConfigError(
            "environmentSuffix", suffix, "use 1-20 lowercase letters, digits or dashes, not starting/ending with '-'"
        )
    project = get("project") or "tapstack"
    if not isinstance(project, str) or not _PROJECT.match(project):
        raise ConfigError("project", project, "use 2-24 lowercase letters, digits or dashes, starting with a letter")
    raw_regions = get("regions")
    regions = _regions(["us-east-1"] if raw_regions is None else raw_regions)
    vpc_cidrs = _vpc_cidrs(get("vpcCidrs"), regions)
    az_count = _int("azCount", get("azCount") if get("azCount") is not None else 2, 2, 6)
    nat = _enum("natStrategy", get("natStrategy") or "per_az", NatStrategy)
    instance_type = get("instanceType") or "t3.micro"
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        raise ConfigError("instanceType", instance_type, "expected an EC2 instance type such as t3.micro")

    def opt_int(key: str, default: int, lo: int, hi: int) -> int:
        raw = get(key)
        return default if raw is None else _int(key, raw, lo, hi)

    asg_min = opt_int("asgMinSize", 1, 0, 100)
    asg_desired = opt_int("asgDesiredCapacity", max(2, asg_min), 0, 100)
    asg_max = opt_int("asgMaxSize", max(4, asg_desired), 1, 100)
    if not asg_min <= asg_desired <= asg_max:
        raise ConfigError(
            "asgDesiredCapacity",
            {"asgMinSize": asg_min, "asgDesiredCapacity": asg_desired, "asgMaxSize": asg_max},
            "need asgMinSize <= asgDesiredCapacity <= asgMaxSize",
        )
    grace = opt_int("healthCheckGracePeriodSeconds", 300, 0, 7200)
    retention_raw = get("logRetentionDays")
    retention = 90 if retention_raw is None else _int("logRetentionDays", retention_raw, 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError("logRetentionDays", retention_raw, f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    email = get("alarmEmail")
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise ConfigError("alarmEmail", email, "expected an email address such as ops@example.com")
    kms = _enum("kms", get("kms") or "customer-managed", KmsMode)
    window = opt_int("secretRecoveryWindowDays", 7, 0, 30)
    if 0 < window < 7:
        raise ConfigError("secretRecoveryWindowDays", window, "AWS allows 0 (delete at once) or 7-30 days")
    cfg = StackConfig(
        environment_suffix=suffix,
        project=project,
        regions=regions,
        vpc_cidrs=vpc_cidrs,
        az_count=az_count,
        nat_strategy=nat,
        instance_type=instance_type,
        asg_min_size=asg_min,
        asg_desired_capacity=asg_desired,
        asg_max_size=asg_max,
        health_check_grace_period_seconds=grace,
        log_retention_days=retention,
        alarm_email=email,
        kms=kms,
        tags=_tags(get("tags")),
        features=_features(get("features")),
        secret_recovery_window_days=window,
    )
    _check_names(cfg)
    return cfg


KNOWN_KEYS = frozenset(row[0] for row in CONFIG_REFERENCE)


def load() -> StackConfig:
    """Read ``tapstack:*`` from the running Pulumi program's configuration."""
    conf = pulumi.Config(NAMESPACE)

    def get(key: str) -> Any:
        if key in ("regions", "vpcCidrs", "tags", "features"):
            try:
                return conf.get_object(key)
            except Exception:
                raise ConfigError(key, conf.get(key), "expected structured YAML/JSON") from None
        return conf.get(key)

    return build(get)


def migration_token() -> pulumi.Output[str] | None:
    """The secret given with ``pulumi config set --secret``; None when unset."""
    return pulumi.Config(NAMESPACE).get_secret("migrationToken")


def reference_markdown() -> str:
    """The configuration reference table (README and docs/configuration.md are checked against it)."""
    lines = ["| key | default | allowed values | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `{NAMESPACE}:{key}` | {default} | {allowed} | {meaning} |"
        for key, default, allowed, meaning in CONFIG_REFERENCE
    ]
    return "\n".join(lines) + "\n"
