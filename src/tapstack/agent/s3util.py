"""The two questions the agent asks of every S3 error: is the object simply not there, and what happened."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def is_missing(exc: ClientError) -> bool:
    """A missing key or version; S3 answers a bad version id with 400 InvalidArgument, which counts too."""
    return code(exc) in MISSING or (code(exc) == "InvalidArgument" and "version" in describe(exc).lower())


def describe(exc: ClientError | BotoCoreError) -> str:
    """AWS's own code and message, bounded for a heartbeat."""
    if isinstance(exc, ClientError):
        text = f"{code(exc)}: {exc.response.get('Error', {}).get('Message', '') or 'no message'}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
