"""The function's contract with the infrastructure: its environment, its limits, and the SSM config.

Every environment variable name and every limit of the function is defined here once: the component that
deploys the function imports ``ENVIRONMENT`` (and the function limits) from this module, so the two sides
cannot drift. This module imports nothing but the standard library and ``outcomes`` for that reason.
Settings are read per invocation, not at import, so one process can serve several regions (the local
emulator runs the handler in-process) and a changed parameter takes effect without a redeploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .outcomes import ServerError

ENV_REGION = "TAPSTACK_REGION"
ENV_BUCKET = "TAPSTACK_DEPLOYMENT_BUCKET"
ENV_CONFIG_PARAMETER = "TAPSTACK_CONFIG_PARAMETER"
ENV_SECRET_ARN = "TAPSTACK_SECRET_ARN"
ENV_TOPIC_ARN = "TAPSTACK_TOPIC_ARN"
ENV_ROLE = "TAPSTACK_ROLE"
ENV_REPLICA_BUCKETS = "TAPSTACK_REPLICA_BUCKETS"
ENV_ASG_NAME = "TAPSTACK_ASG_NAME"
ENV_FLEET_GRACE_SECONDS = "TAPSTACK_FLEET_GRACE_SECONDS"
ENV_HEARTBEAT_FRESH_SECONDS = "TAPSTACK_HEARTBEAT_FRESH_SECONDS"

ENVIRONMENT: Mapping[str, str] = {
    ENV_REGION: "the region the function serves (falls back to AWS_REGION)",
    ENV_ROLE: "primary or secondary",
    ENV_BUCKET: "the region's deployment bucket name",
    ENV_CONFIG_PARAMETER: "the SSM config parameter name",
    ENV_SECRET_ARN: "the Secrets Manager secret ARN",
    ENV_TOPIC_ARN: "the deployment SNS topic ARN",
    ENV_REPLICA_BUCKETS: "JSON list of the secondaries' deployment buckets (primary only; [] otherwise)",
    ENV_ASG_NAME: "the region's Auto Scaling group name; empty when compute is off",
    ENV_FLEET_GRACE_SECONDS: "seconds an InService instance may run before validate expects its heartbeat",
    ENV_HEARTBEAT_FRESH_SECONDS: "optional: a heartbeat younger than this many seconds is fresh (default 120)",
}
"""Every variable the function reads, with its meaning: the component sets exactly these."""

# -- limits of the function ------------------------------------------------------------------------------
FUNCTION_TIMEOUT_SECONDS = 60
"""The function's timeout: one migrate of the largest allowed manifest fits with room to record its outcome."""
FUNCTION_MEMORY_MB = 256
MAX_EVENT_BYTES = 16 * 1024
"""Real events are a few hundred bytes; anything near Lambda's 256 KB limit is a mistake or an attack."""
MAX_KEY_BYTES = 1024
"""S3's own limit on a key's UTF-8 length."""
MAX_RELEASE_CHARS = 128
ARTIFACT_WORKERS = 16
"""Parallel artifact and heartbeat reads; the S3 client's connection pool is sized to match."""
LOCK_MARGIN = timedelta(seconds=30)
MAX_LOCK_TTL = timedelta(minutes=15, seconds=30)
"""Lambda's longest timeout plus the margin: used when the context cannot say how long is left."""
HEARTBEAT_FRESH_SECONDS = 120
"""A heartbeat younger than this is fresh: the agent writes one every 30 s, so three may be missed.
``TAPSTACK_HEARTBEAT_FRESH_SECONDS`` sets another window (an agent on a shorter timer, a test)."""
MAX_HEARTBEAT_BYTES = 64 * 1024
"""Heartbeats are written by instances: a body beyond this is not one, and is not read into memory."""
DEFAULT_FLEET_GRACE_SECONDS = 300
"""Used only when no Auto Scaling group is configured, where the grace period has no effect."""
MIN_BOTOCORE = "1.35.69"
"""The first botocore whose S3 model has both IfNoneMatch and IfMatch on PutObject (conditional writes)."""

REQUIRED_KEYS = ("project", "environment", "region", "primary_region")
# key -> (default, lowest, highest): the ceilings keep one invocation inside Lambda's memory and 6 MB reply.
LIMITS: dict[str, tuple[int, int, int]] = {
    "max_manifest_bytes": (1_048_576, 1, 64 * 1_048_576),
    "max_artifacts": (5000, 1, 100_000),
    "status_limit": (20, 1, 1000),
}


@dataclass(frozen=True)
class Settings:
    region: str
    bucket: str
    config_parameter: str
    secret_arn: str
    topic_arn: str
    primary: bool
    replica_buckets: tuple[str, ...]
    asg_name: str = ""
    fleet_grace_seconds: int = DEFAULT_FLEET_GRACE_SECONDS
    heartbeat_fresh_seconds: int = HEARTBEAT_FRESH_SECONDS


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ServerError(
            f"the function is misconfigured: environment variable {name} ({ENVIRONMENT[name]}) is not set"
        )
    return value


def _grace(environ: Mapping[str, str], asg_name: str) -> int:
    """Required with an Auto Scaling group: a wrong grace period would pass or fail the fleet for nothing."""
    raw = environ.get(ENV_FLEET_GRACE_SECONDS, "").strip()
    if not asg_name and not raw:
        return DEFAULT_FLEET_GRACE_SECONDS
    if not raw:
        raise ServerError(
            f"the function is misconfigured: {ENV_ASG_NAME} is set but environment variable "
            f"{ENV_FLEET_GRACE_SECONDS} ({ENVIRONMENT[ENV_FLEET_GRACE_SECONDS]}) is not"
        )
    if not raw.isdigit() or int(raw) > 86_400:
        raise ServerError(
            f"the function is misconfigured: {ENV_FLEET_GRACE_SECONDS} is {raw[:40]!r}; "
            "expected whole seconds from 0 to 86400"
        )
    return int(raw)


def _fresh(environ: Mapping[str, str]) -> int:
    """Optional: the agent's interval decides it (30 s on EC2, so 120; a kept emulator's agents run every second)."""
    raw = environ.get(ENV_HEARTBEAT_FRESH_SECONDS, "").strip()
    if not raw:
        return HEARTBEAT_FRESH_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 86_400:
        raise ServerError(
            f"the function is misconfigured: {ENV_HEARTBEAT_FRESH_SECONDS} is {raw[:40]!r}; "
            "expected whole seconds from 1 to 86400"
        )
    return int(raw)


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Fail on the first missing or malformed variable, naming it: a half-configured function must not act."""
    region = environ.get(ENV_REGION, "").strip() or environ.get("AWS_REGION", "").strip()
    if not region:
        raise ServerError(f"the function is misconfigured: neither {ENV_REGION} nor AWS_REGION is set")
    role = _required(environ, ENV_ROLE)
    if role not in ("primary", "secondary"):
        raise ServerError(f"the function is misconfigured: {ENV_ROLE} is {role!r}; expected primary or secondary")
    raw_replicas = environ.get(ENV_REPLICA_BUCKETS, "").strip() or "[]"
    try:
        replicas = json.loads(raw_replicas)
    except ValueError:
        replicas = None
    if not isinstance(replicas, list) or not all(isinstance(b, str) and b for b in replicas):
        raise ServerError(
            f"the function is misconfigured: {ENV_REPLICA_BUCKETS} must be a JSON list of bucket names, "
            f"got {raw_replicas[:200]!r}"
        )
    if role == "secondary" and replicas:
        raise ServerError(
            f"the function is misconfigured: {ENV_REPLICA_BUCKETS} lists buckets on a secondary; "
            "only the primary replicates"
        )
    asg_name = environ.get(ENV_ASG_NAME, "").strip()
    return Settings(
        region=region,
        bucket=_required(environ, ENV_BUCKET),
        config_parameter=_required(environ, ENV_CONFIG_PARAMETER),
        secret_arn=_required(environ, ENV_SECRET_ARN),
        topic_arn=_required(environ, ENV_TOPIC_ARN),
        primary=role == "primary",
        replica_buckets=tuple(replicas),
        asg_name=asg_name,
        fleet_grace_seconds=_grace(environ, asg_name),
        heartbeat_fresh_seconds=_fresh(environ),
    )


@dataclass(frozen=True)
class RuntimeConfig:
    project: str
    environment: str
    region: str
    primary_region: str
    max_manifest_bytes: int
    max_artifacts: int
    status_limit: int


def parse_config(text: str) -> RuntimeConfig:
    """The parameter's JSON, checked key by key; errors name keys and types, never echo the values."""
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise ValueError("not usable JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ValueError(f"must hold a JSON object, holds a JSON {type(doc).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise ValueError(f"missing required key(s): {', '.join(missing)}")
    wrong = [k for k in REQUIRED_KEYS if not isinstance(doc[k], str) or not doc[k].strip()]
    if wrong:
        raise ValueError(f"key(s) {', '.join(wrong)} must be non-empty strings")
    limits: dict[str, int] = {}
    for key, (default, low, high) in LIMITS.items():
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"key {key} must be an integer from {low} to {high}")
        limits[key] = value
    return RuntimeConfig(
        project=doc["project"],
        environment=doc["environment"],
        region=doc["region"],
        primary_region=doc["primary_region"],
        **limits,
    )
