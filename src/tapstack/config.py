"""The only reader of Pulumi configuration: turns ``tapstack:*`` keys into a frozen, validated StackConfig.

Every setting is declared once, in ``SETTINGS``: its key, type, default, allowed values and meaning. That one
table builds StackConfig, drives validation and generates the reference tables in README.md and
docs/configuration.md, so a default cannot say one thing in the docs and do another in the code.

Every bad value raises ConfigError naming the key, the value received and what is allowed, before a single
resource is registered: a deployment that cannot succeed should not start.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import pulumi

from .errors import TapStackError
from .lib import cidr
from .lib.instance_types import UnknownInstanceFamily, architecture
from .lib.names import CATALOGUE, Name, uses
from .lib.naming import (
    PLACEHOLDER_ACCOUNT,
    NameKind,
    PhysicalNameError,
    log_group_name,
    parameter_name,
    physical_name,
)
from .lib.regions import AZ_COUNTS, REGION_CODES

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
MAX_AZ_COUNT = 6
MAX_REGIONS = 16
_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
MAX_INSTANCE_TYPES = 40
"""The most launch template overrides a mixed instances policy takes (Amazon EC2 Auto Scaling quotas)."""

NOT_FOR_VPCS: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    # The AWS VPC User Guide, "VPC CIDR blocks" > "IPv4 CIDR block association restrictions"
    # (docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html): link-local "cannot be assigned to VPCs".
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local (AWS reserves it: instance metadata, DNS, time)"),
    # The others are special-purpose ranges of RFC 6890 that can never be a network of hosts: a VPC there
    # could not route to or from anything, whatever EC2 accepts.
    (ipaddress.IPv4Network("0.0.0.0/8"), "'this network' (RFC 6890)"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved, with the broadcast address 255.255.255.255"),
)
"""IPv4 ranges a VPC may not use; a VPC CIDR that overlaps one of them is refused."""


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
    compute: bool
    migration: bool


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs, validated; each field is filled from its row in ``SETTINGS``."""

    environment_suffix: str
    project: str
    regions: tuple[str, ...]
    vpc_cidrs: Mapping[str, str]
    az_count: int
    nat_strategy: NatStrategy
    instance_type: str
    instance_types: tuple[str, ...]
    ami_ids: Mapping[str, str]
    asg_min_size: int
    asg_desired_capacity: int
    asg_max_size: int
    health_check_grace_period_seconds: int
    log_retention_days: int
    alarm_email: str | None
    kms: KmsMode
    tags: Mapping[str, str]
    features: Features
    secret_recovery_window_days: int
    secret_rotation_days: int
    migration_reserved_concurrency: int
    migration_in_vpc: bool
    deployment_object_lock_days: int

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return self.regions[1:]

    def name(self, name: Name, region: str, account_id: str | None = None, secondary: str | None = None) -> str:
        """The single naming entry point for the program: every physical name comes from here, for an entry of
        the catalogue (``lib/names.py``) that ``_check_names`` length-checked before any resource existed."""
        what = name.what_for(secondary)
        return physical_name(name.kind, self.project, what, self.environment_suffix, region, account_id)

    def log_group(self, what: str, region: str) -> str:
        return log_group_name(self.project, what, self.environment_suffix, region)

    def parameter(self, what: str) -> str:
        return parameter_name(self.project, self.environment_suffix, what)


@dataclass(frozen=True)
class _Context:
    """What a parser may look at besides its own raw value: the settings parsed before it, and the environment."""

    parsed: Mapping[str, Any]
    env: Mapping[str, str]


Parser = Callable[["Setting", Any, _Context], Any]


@dataclass(frozen=True)
class Setting:
    """One configuration key. Rows are parsed in table order, so a row may depend on the rows above it."""

    key: str
    attr: str | None
    type: str
    default: Any
    allowed: str
    meaning: str
    parse: Parser
    default_doc: str | None = None
    structured: bool = False
    secret: bool = False

    @property
    def documented_default(self) -> str:
        """``default_doc`` says how the default is derived; ``{}`` in it stands for the declared default."""
        shown = _doc_value(self.default)
        return shown if self.default_doc is None else self.default_doc.format(shown)


def _doc_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Features):
        return f"`{{compute: {str(value.compute).lower()}, migration: {str(value.migration).lower()}}}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}`"
    return f"`{value}`"


def _whole(key: str, raw: Any, lo: int, hi: int) -> int:
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


def _enum(s: Setting, raw: Any, enum: type[Enum]) -> Any:
    try:
        return enum(s.default if raw is None else raw)
    except ValueError:
        raise ConfigError(s.key, raw, "allowed: " + ", ".join(str(e.value) for e in enum)) from None


def _integer(lo: int, hi: int) -> Parser:
    def parse(s: Setting, raw: Any, ctx: _Context) -> int:
        return s.default if raw is None else _whole(s.key, raw, lo, hi)

    return parse


def _suffix(s: Setting, raw: Any, ctx: _Context) -> str:
    value = raw if raw is not None else ctx.env.get("ENVIRONMENT_SUFFIX") or s.default
    if not isinstance(value, str) or not _SUFFIX.match(value):
        raise ConfigError(s.key, value, "use 1-20 lowercase letters, digits or dashes, not starting/ending with '-'")
    return value


def _project(s: Setting, raw: Any, ctx: _Context) -> str:
    value = s.default if raw is None else raw
    if not isinstance(value, str) or not _PROJECT.match(value):
        raise ConfigError(s.key, value, "use 2-24 lowercase letters, digits or dashes, starting with a letter")
    return value


def _regions(s: Setting, raw: Any, ctx: _Context) -> tuple[str, ...]:
    value = list(s.default) if raw is None else raw
    if isinstance(value, str):
        value = [r.strip() for r in value.split(",") if r.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise ConfigError(s.key, value, "expected a non-empty list of region names")
    seen: set[str] = set()
    for region in value:
        if region not in REGION_CODES:
            raise ConfigError(s.key, region, "allowed: " + ", ".join(REGION_CODES))
        if region in seen:
            raise ConfigError(s.key, region, "each region may appear once (duplicate)")
        seen.add(region)
    if len(value) > MAX_REGIONS:
        raise ConfigError(s.key, value, f"at most {MAX_REGIONS} regions")
    return tuple(value)


def _vpc_cidrs(s: Setting, raw: Any, ctx: _Context) -> dict[str, str]:
    regions: tuple[str, ...] = ctx.parsed["regions"]
    given = raw or {}
    if not isinstance(given, dict):
        raise ConfigError(s.key, raw, "expected a map of region -> CIDR")
    unknown = sorted(set(given) - set(regions))
    if unknown:
        raise ConfigError(s.key, unknown, f"keys must be deployed regions: {', '.join(regions)}")
    plan: dict[str, str] = {}
    for i, region in enumerate(regions):
        value = given.get(region, cidr.default_vpc_cidr(i))
        key = f"{s.key}.{region}"
        try:
            net = ipaddress.IPv4Network(value)
        except (ValueError, TypeError):
            raise ConfigError(key, value, "expected an IPv4 network such as 10.0.0.0/16") from None
        if not 16 <= net.prefixlen <= 24:
            raise ConfigError(key, value, "AWS allows VPC sizes /16 to /24 (use /16../24)")
        for reserved, what in NOT_FOR_VPCS:
            if net.overlaps(reserved):
                raise ConfigError(
                    key, value, f"{reserved} is {what} and cannot hold a VPC; use an RFC 1918 range such as 10.0.0.0/16"
                )
        plan[region] = str(net)
    overlap = cidr.find_overlap(plan)
    if overlap:
        a, b = overlap
        raise ConfigError(
            s.key, {a: plan[a], b: plan[b]}, f"VPCs of {a} and {b} overlap; give each region its own range"
        )
    return plan


def _az_count(s: Setting, raw: Any, ctx: _Context) -> int:
    count: int = s.default if raw is None else _whole(s.key, raw, 2, MAX_AZ_COUNT)
    regions: tuple[str, ...] = ctx.parsed["regions"]
    smallest = min(regions, key=lambda region: AZ_COUNTS[region])
    if count > AZ_COUNTS[smallest]:
        raise ConfigError(
            s.key,
            raw,
            f"{smallest} has {AZ_COUNTS[smallest]} Availability Zones every account can use; "
            f"use at most {AZ_COUNTS[smallest]} with these regions",
        )
    return count


def _nat(s: Setting, raw: Any, ctx: _Context) -> NatStrategy:
    return NatStrategy(_enum(s, raw, NatStrategy))


def _kms(s: Setting, raw: Any, ctx: _Context) -> KmsMode:
    return KmsMode(_enum(s, raw, KmsMode))


def _one_instance_type(key: str, value: Any, example: str) -> str:
    """A well-formed type of a family whose architecture is known: the AMI is chosen from it."""
    if not isinstance(value, str) or not _INSTANCE_TYPE.match(value):
        raise ConfigError(key, value, f"expected an EC2 instance type such as {example}")
    try:
        architecture(value)
    except UnknownInstanceFamily as err:
        raise ConfigError(key, value, str(err)) from None
    return value


def _instance_type(s: Setting, raw: Any, ctx: _Context) -> str:
    return _one_instance_type(s.key, s.default if raw is None else raw, s.default)


def _instance_types(s: Setting, raw: Any, ctx: _Context) -> tuple[str, ...]:
    """Every type must share instanceType's architecture: the group has one AMI for all of them."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_INSTANCE_TYPES:
        raise ConfigError(s.key, raw, f"expected a list of 2-{MAX_INSTANCE_TYPES} EC2 instance types in priority order")
    wanted = architecture(ctx.parsed["instanceType"])
    for i, value in enumerate(raw):
        key = f"{s.key}[{i}]"
        _one_instance_type(key, value, "t3.small")
        if architecture(value) is not wanted:
            raise ConfigError(
                key,
                value,
                f"an {architecture(value).value} type, but instanceType {ctx.parsed['instanceType']} is "
                f"{wanted.value}: all types of the group share one AMI, so use types of one architecture",
            )
    if len(set(raw)) != len(raw):
        raise ConfigError(s.key, raw, "each instance type may appear once")
    return tuple(raw)


def _ami_ids(s: Setting, raw: Any, ctx: _Context) -> dict[str, str]:
    regions: tuple[str, ...] = ctx.parsed["regions"]
    given = raw or {}
    if not isinstance(given, dict):
        raise ConfigError(s.key, raw, "expected a map of region -> AMI id (AMI ids are regional)")
    unknown = sorted(set(given) - set(regions))
    if unknown:
        raise ConfigError(s.key, unknown, f"keys must be deployed regions: {', '.join(regions)}")
    for region, value in given.items():
        if not isinstance(value, str) or not _AMI_ID.match(value):
            raise ConfigError(f"{s.key}.{region}", value, "expected an AMI id such as ami-0123456789abcdef0")
    return dict(given)


def _asg_desired(s: Setting, raw: Any, ctx: _Context) -> int:
    return max(s.default, ctx.parsed["asgMinSize"]) if raw is None else _whole(s.key, raw, 0, 100)


def _asg_max(s: Setting, raw: Any, ctx: _Context) -> int:
    low, desired = ctx.parsed["asgMinSize"], ctx.parsed["asgDesiredCapacity"]
    value = max(s.default, desired) if raw is None else _whole(s.key, raw, 1, 100)
    if not low <= desired <= value:
        raise ConfigError(
            "asgDesiredCapacity",
            {"asgMinSize": low, "asgDesiredCapacity": desired, "asgMaxSize": value},
            "need asgMinSize <= asgDesiredCapacity <= asgMaxSize",
        )
    return value


def _retention(s: Setting, raw: Any, ctx: _Context) -> int:
    value = s.default if raw is None else _whole(s.key, raw, LOG_RETENTION_DAYS[0], LOG_RETENTION_DAYS[-1])
    if value not in LOG_RETENTION_DAYS:
        raise ConfigError(s.key, raw, f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


def _email(s: Setting, raw: Any, ctx: _Context) -> str | None:
    if raw is not None and (not isinstance(raw, str) or not _EMAIL.match(raw)):
        raise ConfigError(s.key, raw, "expected an email address such as ops@example.com")
    return raw


def _tags(s: Setting, raw: Any, ctx: _Context) -> dict[str, str]:
    if raw is None:
        return dict(s.default)
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError(s.key, raw, "expected a map of string -> string")
    for k, v in raw.items():
        if not 1 <= len(k) <= 128 or len(v) > 256 or k.lower().startswith("aws:"):
            raise ConfigError(f"{s.key}.{k}", v, "keys 1-128 characters not starting with 'aws:', values <= 256")
    return dict(raw)


def _features(s: Setting, raw: Any, ctx: _Context) -> Features:
    default: Features = s.default
    if raw is None:
        return default
    if not isinstance(raw, dict):
        raise ConfigError(s.key, raw, "expected {compute: bool, migration: bool}")
    unknown = sorted(set(raw) - {"compute", "migration"})
    if unknown:
        raise ConfigError(s.key, unknown, "allowed keys: compute, migration")
    feats = Features(
        compute=_bool(f"{s.key}.compute", raw.get("compute", default.compute)),
        migration=_bool(f"{s.key}.migration", raw.get("migration", default.migration)),
    )
    if not (feats.compute or feats.migration):
        raise ConfigError(s.key, raw, "enable at least one of compute, migration")
    return feats


def _recovery_window(s: Setting, raw: Any, ctx: _Context) -> int:
    value: int = s.default if raw is None else _whole(s.key, raw, 0, 30)
    if 0 < value < 7:
        raise ConfigError(s.key, value, "AWS allows 0 (delete at once) or 7-30 days")
    return value


def _in_vpc(s: Setting, raw: Any, ctx: _Context) -> bool:
    """The function joins the region's VPC, which exists only with compute; off-by-default reasoning in
    docs/security.md (Lambda.3)."""
    value: bool = s.default if raw is None else _bool(s.key, raw)
    features: Features = ctx.parsed["features"]
    if value and not features.migration:
        raise ConfigError(s.key, raw, "features.migration is off: there is no migration function to place in a VPC")
    if value and not features.compute:
        raise ConfigError(
            s.key,
            raw,
            "features.compute is off, so the regions have no VPC for the function; turn compute on or leave "
            "migrationInVpc false",
        )
    return value


def _token(s: Setting, raw: Any, ctx: _Context) -> None:
    """Only presence is checked here; the value itself reaches the program as a secret Output (migration_token)."""
    if ctx.parsed["features"].migration and raw in (None, ""):
        raise ConfigError(
            s.key,
            None,
            "required with features.migration: `pulumi config set --secret tapstack:migrationToken <value>` "
            "(local runs: the TAPSTACK_MIGRATION_TOKEN environment variable)",
        )


SETTINGS: tuple[Setting, ...] = (
    Setting(
        key="environmentSuffix",
        attr="environment_suffix",
        type="string",
        default="dev",
        allowed="1-20 of `a-z 0-9 -`",
        meaning="appended to every physical name; separates stacks in one account",
        parse=_suffix,
        default_doc="`ENVIRONMENT_SUFFIX` env var, else {}",
    ),
    Setting(
        key="project",
        attr="project",
        type="string",
        default="tapstack",
        allowed="2-24 of `a-z 0-9 -`, starts with a letter",
        meaning="first part of every physical name",
        parse=_project,
    ),
    Setting(
        key="regions",
        attr="regions",
        type="list of strings",
        default=("us-east-1",),
        allowed=f"1-{MAX_REGIONS} distinct supported regions (docs/configuration.md); the first is the primary",
        meaning="where to deploy; secondaries receive replicated deployments",
        parse=_regions,
        structured=True,
    ),
    Setting(
        key="vpcCidrs",
        attr="vpc_cidrs",
        type="map",
        default=None,
        allowed="map region -> IPv4 CIDR /16../24, no overlaps, outside the ranges AWS reserves",
        meaning="VPC address space per region",
        parse=_vpc_cidrs,
        default_doc="`10.<16*i>.0.0/16` per region",
        structured=True,
    ),
    Setting(
        key="azCount",
        attr="az_count",
        type="integer",
        default=2,
        allowed=f"2-{MAX_AZ_COUNT}, at most the Availability Zones of each chosen region",
        meaning="availability zones per region (one public and one private subnet each)",
        parse=_az_count,
    ),
    Setting(
        key="natStrategy",
        attr="nat_strategy",
        type="string",
        default=NatStrategy.PER_AZ,
        allowed=", ".join(f"`{n.value}`" for n in NatStrategy),
        meaning="one NAT gateway per AZ (HA), one shared, or none (private subnets have no internet route)",
        parse=_nat,
    ),
    Setting(
        key="instanceType",
        attr="instance_type",
        type="string",
        default="t3.micro",
        allowed="an EC2 instance type such as `t3.small`",
        meaning="application instances; its family decides the AMI architecture (arm64 for Graviton such as "
        "t4g, x86_64 otherwise)",
        parse=_instance_type,
    ),
    Setting(
        key="instanceTypes",
        attr="instance_types",
        type="list of strings",
        default=(),
        allowed=f"2-{MAX_INSTANCE_TYPES} distinct instance types of instanceType's architecture",
        meaning="when set, the group launches these, in priority order, through a mixed instances policy "
        "(capacity in more pools); instanceType stays the template's type",
        parse=_instance_types,
        default_doc="none (one type)",
        structured=True,
    ),
    Setting(
        key="amiIds",
        attr="ami_ids",
        type="map",
        default=None,
        allowed="map region -> AMI id of instanceType's architecture",
        meaning="pins the instances' AMI per region; unset regions take the latest Amazon Linux 2023 AMI once, at "
        "their first deploy, and keep it (the id is in the `<code>_ami_id` output) until you pin another",
        parse=_ami_ids,
        default_doc="none",
        structured=True,
    ),
    Setting(
        key="asgMinSize",
        attr="asg_min_size",
        type="integer",
        default=1,
        allowed="0-100, <= asgDesiredCapacity",
        meaning="Auto Scaling Group minimum",
        parse=_integer(0, 100),
    ),
    Setting(
        key="asgDesiredCapacity",
        attr="asg_desired_capacity",
        type="integer",
        default=2,
        allowed="asgMinSize..asgMaxSize",
        meaning="Auto Scaling Group desired capacity",
        parse=_asg_desired,
        default_doc="{}, raised to asgMinSize",
    ),
    Setting(
        key="asgMaxSize",
        attr="asg_max_size",
        type="integer",
        default=4,
        allowed=">= asgDesiredCapacity, <= 100",
        meaning="Auto Scaling Group maximum",
        parse=_asg_max,
        default_doc="{}, raised to asgDesiredCapacity",
    ),
    Setting(
        key="healthCheckGracePeriodSeconds",
        attr="health_check_grace_period_seconds",
        type="integer",
        default=300,
        allowed="0-7200",
        meaning="EC2 health check grace period",
        parse=_integer(0, 7200),
    ),
    Setting(
        key="logRetentionDays",
        attr="log_retention_days",
        type="integer",
        default=365,
        allowed="a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)",
        meaning="retention of every log group (each is encrypted with the region key)",
        parse=_retention,
    ),
    Setting(
        key="alarmEmail",
        attr="alarm_email",
        type="string",
        default=None,
        allowed="an email address",
        meaning="subscribed to the alarm and deployment topics",
        parse=_email,
    ),
    Setting(
        key="kms",
        attr="kms",
        type="string",
        default=KmsMode.CUSTOMER_MANAGED,
        allowed=", ".join(f"`{k.value}`" for k in KmsMode),
        meaning="customer-managed: the region key (rotation on) encrypts buckets, parameters and secrets; "
        "aws-managed: SSE-S3 and the AWS-managed keys. Topics always use the region key",
        parse=_kms,
    ),
    Setting(
        key="tags",
        attr="tags",
        type="map",
        default={},
        allowed="map of string -> string",
        meaning="extra tags on every resource (ownership tags win)",
        parse=_tags,
        structured=True,
    ),
    Setting(
        key="features",
        attr="features",
        type="map",
        default=Features(compute=True, migration=True),
        allowed="booleans",
        meaning="system A (network + compute) and/or system B (migration platform)",
        parse=_features,
        structured=True,
    ),
    Setting(
        key="secretRecoveryWindowDays",
        attr="secret_recovery_window_days",
        type="integer",
        default=7,
        allowed="0 or 7-30",
        meaning="how long a deleted secret can be restored",
        parse=_recovery_window,
    ),
    Setting(
        key="secretRotationDays",
        attr="secret_rotation_days",
        type="integer",
        default=30,
        allowed="1-365",
        meaning="the rotation function replaces the migration token this often (docs/security.md)",
        parse=_integer(1, 365),
    ),
    Setting(
        key="migrationReservedConcurrency",
        attr="migration_reserved_concurrency",
        type="integer",
        default=0,
        allowed="0 (no reservation) or 1-100",
        meaning="reserved concurrency of the migration function: at most this many invocations at once, taken from "
        "the account's concurrency quota (docs/configuration.md)",
        parse=_integer(0, 100),
    ),
    Setting(
        key="migrationInVpc",
        attr="migration_in_vpc",
        type="boolean",
        default=False,
        allowed="`true`, `false`; `true` needs features.compute and features.migration",
        meaning="runs the migration function in the private subnets, reaching AWS only through interface endpoints "
        "(about USD 7.30 per endpoint per AZ per month; docs/security.md, Lambda.3)",
        parse=_in_vpc,
    ),
    Setting(
        key="deploymentObjectLockDays",
        attr="deployment_object_lock_days",
        type="integer",
        default=0,
        allowed="0 (off) or 1-3650",
        meaning="Object Lock (governance mode) default retention of the deployment buckets; on is irreversible "
        "(docs/security.md)",
        parse=_integer(0, 3650),
    ),
    Setting(
        key="migrationToken",
        attr=None,
        type="secret string",
        default=None,
        allowed="a Pulumi secret (`pulumi config set --secret`); never in a stack file or on the command line",
        meaning="value stored in the Secrets Manager secret",
        parse=_token,
        default_doc="{} (required with migration)",
        secret=True,
    ),
)
BY_KEY: Mapping[str, Setting] = {s.key: s for s in SETTINGS}
KNOWN_KEYS = frozenset(BY_KEY)


def unknown_key_error(key: str, value: Any) -> ConfigError:
    """A key of our namespace that no setting declares: a typo must not fall back to a default silently."""
    by_lower = {k.lower(): k for k in KNOWN_KEYS}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f"did you mean {NAMESPACE}:{by_lower[close[0]]}?" if close else "known keys: " + ", ".join(BY_KEY)
    return ConfigError(key, value, f"not a TapStack setting; {hint} (reference: docs/configuration.md)")


def check_key(key: str, value: Any) -> None:
    """Refuse an unqualified key that is not a setting; other namespaces (``aws:region``) are not ours to judge."""
    if key not in KNOWN_KEYS:
        raise unknown_key_error(key, value)


def build(values: Mapping[str, Any], env: Mapping[str, str] | None = None) -> StackConfig:
    """Validate raw values (unqualified key -> value; absent or None is unset); pure, so every rule is unit-tested."""
    env = os.environ if env is None else env
    for key, value in values.items():
        check_key(key, value)
    parsed: dict[str, Any] = {}
    ctx = _Context(parsed=parsed, env=env)
    for s in SETTINGS:
        parsed[s.key] = s.parse(s, values.get(s.key), ctx)
    cfg = StackConfig(**{s.attr: parsed[s.key] for s in SETTINGS if s.attr is not None})
    _check_names(cfg)
    return cfg


def _check_names(cfg: StackConfig) -> None:
    """Build every physical name of the catalogue, in every region its scope names, and reject any over its limit."""
    for entry in CATALOGUE:
        account = PLACEHOLDER_ACCOUNT if entry.kind is NameKind.BUCKET else None
        for region, secondary in uses(cfg.primary_region, cfg.regions, entry):
            try:
                cfg.name(entry, region, account, secondary)
            except PhysicalNameError as err:
                raise ConfigError("environmentSuffix", cfg.environment_suffix, str(err)) from None


def _runtime_keys() -> list[str]:
    """Every fully qualified key the running program was given.

    ``pulumi.Config`` can only look keys up, not list them; the SDK keeps the map in ``runtime.config.CONFIG``
    (set by ``set_all_config``, as our runner does) and the Pulumi CLI passes it as ``PULUMI_CONFIG``.
    """
    return sorted({*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.get_config_env()})


def load() -> StackConfig:
    """Read ``tapstack:*`` from the running Pulumi program's configuration."""
    conf = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for qualified in _runtime_keys():
        namespace, _, key = qualified.partition(":")
        if namespace != NAMESPACE:
            continue
        setting = BY_KEY.get(key)
        if setting is None:
            raise unknown_key_error(key, conf.get(key))
        if setting.structured:
            try:
                values[key] = conf.get_object(key)
            except Exception:
                raise ConfigError(key, conf.get(key), "expected structured YAML/JSON") from None
        else:
            values[key] = conf.get(key)
    return build(values)


def migration_token() -> pulumi.Output[str] | None:
    """The secret given with ``pulumi config set --secret``; None when unset."""
    return pulumi.Config(NAMESPACE).get_secret("migrationToken")


def reference_markdown() -> str:
    """The configuration reference table (README and docs/configuration.md are generated from it)."""
    lines = ["| key | type | default | allowed values | meaning |", "|---|---|---|---|---|"]
    lines += [
        f"| `{NAMESPACE}:{s.key}` | {s.type} | {s.documented_default} | {s.allowed} | {s.meaning} |" for s in SETTINGS
    ]
    return "\n".join(lines) + "\n"


def regions_markdown() -> str:
    """The regions TapStack plans for and how many Availability Zones ``azCount`` may use in each."""
    lines = ["| region | name code | Availability Zones |", "|---|---|---|"]
    lines += [f"| `{region}` | `{code}` | {AZ_COUNTS[region]} |" for region, code in REGION_CODES.items()]
    return "\n".join(lines) + "\n"


GENERATED: Mapping[str, Callable[[], str]] = {"config-reference": reference_markdown, "regions": regions_markdown}
"""Each generated block, by the name in its ``<!-- NAME:start -->`` / ``<!-- NAME:end -->`` markers."""


def with_generated_blocks(text: str) -> str:
    """``text`` with every generated block it contains replaced by the current one."""
    for name, render in GENERATED.items():
        start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + start + render() + end + rest.split(end, 1)[1]
    return text


def main(argv: list[str]) -> int:
    """``python -m tapstack.config README.md docs/configuration.md`` rewrites the generated tables in place."""
    for name in argv:
        path = Path(name)
        path.write_text(with_generated_blocks(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
