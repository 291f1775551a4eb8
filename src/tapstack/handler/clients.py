"""boto3 clients, created once per session and reused by every invocation that runs with that session."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tapstack.runtime import Session

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
_lock = threading.Lock()
_clients: weakref.WeakKeyDictionary[Session, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


def client(session: Session, service: str, region: str) -> Any:
    """The ``session``'s client of ``service`` in ``region``, made on first use and then reused.

    A session loads botocore's data files (endpoints, service models) and a client builds its endpoint rules:
    together 100-300 ms on a cold start. Under Lambda the session is the process's one (``Runtime.of_process``),
    so warm invocations reuse its clients; in the emulator it is the execution role's session, which carries the
    role's credentials, so a client never acts as another function's role. A session that is dropped takes its
    clients with it. Creation happens under a lock because botocore sessions are not safe to create clients
    from concurrently.
    """
    with _lock:
        made = _clients.setdefault(session, {})
        found = made.get((service, region))
        if found is None:
            found = session.client(service, region_name=region, config=_CONFIG)
            if service == "s3":
                require_conditional_writes(found)
            made[(service, region)] = found
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
