"""Rotate the migration token with the four-step Secrets Manager protocol.

Secrets Manager calls the function once per step with the same ``ClientRequestToken`` (the id of the version
being made). Each step is safe to repeat, because Secrets Manager retries a step that failed or timed out:

- ``createSecret``: put a new random token as version ``ClientRequestToken`` labelled ``AWSPENDING`` (unless a
  value is already there);
- ``setSecret``: give the new token to the service that checks it. Nothing in TapStack keeps a copy of the
  token (the migration function reads the secret's ``AWSCURRENT`` each time), so there is nothing to update;
- ``testSecret``: read the pending version back and check it is a well-formed token different from the
  current one, so a broken value is never promoted;
- ``finishSecret``: move ``AWSCURRENT`` to the new version (Secrets Manager then labels the old one
  ``AWSPREVIOUS``).

A log line per step names the step, the secret and the version, never a value.

``handler`` is what Lambda calls, with this process as the runtime; ``handle`` runs with the runtime it is given
(``tapstack.runtime``), which is how the emulator runs the deployed function in-process.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tapstack.runtime import Runtime

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
"""``secrets.token_urlsafe(32)``: 256 random bits as 43 URL-safe characters."""
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(Exception):
    """A rotation step that must fail: Secrets Manager then keeps the current token and reports the error."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def log_line(step: str, secret_id: str, version: str, outcome: str) -> str:
    return json.dumps({"event": "rotation", "step": step, "secret": secret_id, "version": version, "outcome": outcome})


def _pending_value(client: Any, secret_id: str, version: str) -> str | None:
    """The value of the pending version, or None when it has none yet (RotateSecret may create it empty)."""
    try:
        found = client.get_secret_value(SecretId=secret_id, VersionId=version, VersionStage=PENDING)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    value = found.get("SecretString")
    return value if isinstance(value, str) and value else None


def create_pending(client: Any, secret_id: str, version: str, make: Callable[[], str] = new_token) -> str:
    client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)  # the secret must have a current value
    if _pending_value(client, secret_id, version) is not None:
        return "pending value already present"
    client.put_secret_value(
        SecretId=secret_id, ClientRequestToken=version, SecretString=make(), VersionStages=[PENDING]
    )
    return "pending value created"


def set_in_service(client: Any, secret_id: str, version: str) -> str:
    return "nothing holds a copy of the token"


def check_pending(client: Any, secret_id: str, version: str) -> str:
    pending = _pending_value(client, secret_id, version)
    if pending is None:
        raise RotationError(f"version {version} of {secret_id} has no value to test")
    if not TOKEN_PATTERN.fullmatch(pending):
        raise RotationError(f"version {version} of {secret_id} is not a well-formed token")
    current = client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT).get("SecretString")
    if pending == current:
        raise RotationError(f"version {version} of {secret_id} repeats the current token")
    return "pending value is a fresh, well-formed token"


def promote_pending(client: Any, secret_id: str, version: str) -> str:
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current == version:
        return "already current"
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=version, RemoveFromVersionId=current
    )
    return "promoted to AWSCURRENT"


_STEP_FUNCTIONS: dict[str, Callable[[Any, str, str], str]] = {
    "createSecret": create_pending,
    "setSecret": set_in_service,
    "testSecret": check_pending,
    "finishSecret": promote_pending,
}


def rotate(event: dict[str, Any], client: Any, log: Callable[[str], None]) -> str:
    """Run one step; the checks first are the ones AWS's rotation templates make before any step. ``log`` gets
    the step's one log line (the runtime's sink: under Lambda, stdout, which goes to the function's log group)."""
    step, secret_id, version = event.get("Step"), event.get("SecretId"), event.get("ClientRequestToken")
    if step not in _STEP_FUNCTIONS or not isinstance(secret_id, str) or not isinstance(version, str):
        raise RotationError(f"not a rotation event: Step must be one of {', '.join(STEPS)}, with SecretId and token")
    described = client.describe_secret(SecretId=secret_id)
    if not described.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {secret_id}")
    stages = described.get("VersionIdsToStages", {})
    if version not in stages:
        raise RotationError(f"{secret_id} has no version {version} to rotate to")
    if CURRENT in stages[version]:
        outcome = "already current"
    elif PENDING not in stages[version]:
        raise RotationError(f"version {version} of {secret_id} is not AWSPENDING")
    else:
        outcome = _STEP_FUNCTIONS[step](client, secret_id, version)
    log(log_line(step, secret_id, version, outcome))
    return outcome


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> None:
    """One step with ``runtime``'s session and log: a raised error is how a step tells Secrets Manager it failed."""
    region = runtime.environment.get("AWS_REGION") or runtime.environment.get("AWS_DEFAULT_REGION")
    rotate(event, runtime.session.client("secretsmanager", region_name=region), runtime.log)


def handler(event: dict[str, Any], context: Any) -> None:
    """Lambda's entry: this process is the function's runtime."""
    handle(event, context, Runtime.of_process())
