"""The two questions the agent asks of every S3 error: is the object simply not there (``tapstack.contract``), and
what happened."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import error_code as code
from tapstack.contract import is_missing as is_missing


def describe(exc: ClientError | BotoCoreError) -> str:
    """AWS's own code and message, bounded for a heartbeat."""
    if isinstance(exc, ClientError):
        text = f"{code(exc)}: {exc.response.get('Error', {}).get('Message', '') or 'no message'}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
