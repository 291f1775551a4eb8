"""The function's two sources of settings: its environment (set by the infrastructure) and the SSM config.

Both are read per invocation, not at import, so one process can serve several regions (the local emulator
runs the handler in-process) and a changed parameter takes effect without a redeploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .outcomes import ServerError

ENV_REGION = "TAPSTACK_REGION"
ENV_BUCKET = "TAPSTACK_DEPLOYMENT_BUCKET"
ENV_CONFIG_PARAMETER = "TAPSTACK_CONFIG_PARAMETER"
ENV_SECRET_ARN = "TAPSTACK_SECRET_ARN"
ENV_TOPIC_ARN = "TAPSTACK_TOPIC_ARN"
ENV_ROLE = "TAPSTACK_ROLE"
ENV_REPLICA_BUCKETS = "TAPSTACK_REPLICA_BUCKETS"

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


def _required(environ: Mapping[str, str], name: str, meaning: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ServerError(f"the function is misconfigured: environment variable {name} ({meaning}) is not set")
    return value


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Fail on the first missing or malformed variable, naming it: a half-configured function must not act."""
    region = environ.get(ENV_REGION, "").strip() or environ.get("AWS_REGION", "").strip()
    if not region:
        raise ServerError(f"the function is misconfigured: neither {ENV_REGION} nor AWS_REGION is set")
    role = _required(environ, ENV_ROLE, "primary or secondary")
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
    return Settings(
        region=region,
        bucket=_required(environ, ENV_BUCKET, "the region's deployment bucket name"),
        config_parameter=_required(environ, ENV_CONFIG_PARAMETER, "the SSM config parameter name"),
        secret_arn=_required(environ, ENV_SECRET_ARN, "the Secrets Manager secret ARN"),
        topic_arn=_required(environ, ENV_TOPIC_ARN, "the deployment SNS topic ARN"),
        primary=role == "primary",
        replica_buckets=tuple(replicas),
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
