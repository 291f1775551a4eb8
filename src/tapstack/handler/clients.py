"""boto3 clients, created once per container and shared by every invocation and thread."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ARTIFACT_WORKERS = 16
"""Parallel artifact downloads; the S3 client's connection pool is sized to match."""

# Bounded timeouts: a hung SNS or S3 call must fail inside the function's timeout, while the release lock is
# held, so the record can still be finalised; "standard" retries absorb throttling.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=ARTIFACT_WORKERS + 4,
)
_lock = threading.Lock()
_clients: dict[tuple[object, ...], Any] = {}


def client(service: str, region: str) -> Any:
    """A cached client for this region and the current endpoint overrides.

    Creating a client costs 100-300 ms, so warm invocations reuse them. The key includes the
    ``AWS_ENDPOINT_URL*`` variables (which boto3 honours by itself) because the local emulator runs the
    handler in-process and may point them at a different endpoint between calls. Creation happens under a
    lock, on a fresh session, because botocore sessions are not safe to create clients from concurrently.
    """
    endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
    key = (service, region, endpoints)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = boto3.session.Session().client(service, region_name=region, config=_CONFIG)
            _clients[key] = found
        return found


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def describe(exc: ClientError | BotoCoreError) -> str:
    """AWS's own code and message, short enough for a reply; AWS messages never carry secret values."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", "")) or "no message"
        text = f"{error_code(exc)}: {message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
