"""boto3 clients, created once per container from one shared session and reused by every invocation."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .outcomes import ServerError
from .settings import ARTIFACT_WORKERS, MIN_BOTOCORE

# Bounded timeouts: a hung SNS or S3 call must fail inside the function's timeout, while the release lock is
# held, so the record can still be finalised; "standard" retries absorb throttling.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=ARTIFACT_WORKERS + 4,
)
_CONDITIONAL_WRITES = ("IfNoneMatch", "IfMatch")
_CREDENTIALS = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
}
_SHAPING = ("AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", *_CREDENTIALS.values())
_lock = threading.Lock()
_clients: dict[tuple[object, ...], Any] = {}


def client(service: str, region: str) -> Any:
    """A cached client for this region, endpoint overrides and identity.

    A session loads botocore's data files (endpoints, service models) and a client builds its endpoint
    rules: together 100-300 ms. So the process's one boto3 session (``boto3.DEFAULT_SESSION``, which anything
    else in the process that uses boto3 shares, and whose loaded models it shares) creates them, once per
    container, and warm invocations reuse the clients. The key includes the variables that decide where a
    client sends its requests and as whom (``AWS_ENDPOINT_URL*``, the credentials), because the local
    emulator runs the handler in-process and changes them between calls; credentials found in the
    environment (as Lambda provides them) are given to each client, so a session that resolved an earlier
    identity never lends it to a later one. Creation happens under a lock because botocore sessions are not
    safe to create clients from concurrently.
    """
    shaping = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
    key = (service, region, shaping, tuple(os.environ.get(name, "") for name in _SHAPING))
    with _lock:
        found = _clients.get(key)
        if found is None:
            session = boto3.DEFAULT_SESSION or boto3.session.Session()
            boto3.DEFAULT_SESSION = session
            identity = {arg: os.environ[name] for arg, name in _CREDENTIALS.items() if os.environ.get(name)}
            if "aws_access_key_id" not in identity or "aws_secret_access_key" not in identity:
                identity = {}  # not from the environment: the session's own chain (profile, instance role)
            found = session.client(service, region_name=region, config=_CONFIG, **identity)
            if service == "s3":
                require_conditional_writes(found)
            _clients[key] = found
        return found


def require_conditional_writes(s3: Any) -> None:
    """Refuse to run on a botocore whose S3 model cannot send If-None-Match / If-Match on PutObject.

    Such a botocore drops the unknown parameters with a validation error at best; the records' write-once
    guarantee and the lock's exclusivity both rest on those headers, so nothing may run without them. The
    Lambda runtime's bundled botocore can be older than the function needs: the fix is packaging one.
    """
    members = s3.meta.service_model.operation_model("PutObject").input_shape.members
    missing = [name for name in _CONDITIONAL_WRITES if name not in members]
    if missing:
        raise ServerError(
            f"this function runs on botocore {botocore.__version__}, whose S3 PutObject lacks "
            f"{' and '.join(missing)} (S3 conditional writes); package botocore>={MIN_BOTOCORE} "
            "(and a matching boto3) with the function instead of relying on the runtime's copy"
        )


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
