"""The deployment bucket as the handler uses it: JSON documents with conditional writes, and artifact hashes.

Conditional writes (``If-None-Match: *`` to create, ``If-Match: <etag>`` to replace) are what make records
write-once and the lock exclusive without DeleteObject, which the function's role does not grant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tapstack.contract import fetch, is_missing

from .clients import error_code
from .outcomes import ServerError

_MISSING = "NoSuchKey"
# 412 when the condition is false; 409 when S3 saw a concurrent conditional write to the same key.
_LOST = {"PreconditionFailed", "ConditionalRequestConflict"}
_CHUNK = 1 << 20


class PreconditionLost(Exception):
    """A conditional write found the object not in the state the caller expected: someone else wrote first."""


@dataclass(frozen=True)
class Stored:
    body: bytes
    etag: str
    version_id: str | None


@dataclass(frozen=True)
class Hashed:
    """An object's SHA-256 and the version whose bytes were hashed: pinning that version pins those bytes."""

    sha256: str
    version_id: str | None


@dataclass(frozen=True)
class Listed:
    key: str
    last_modified: datetime


class Bucket:
    def __init__(self, s3: Any, name: str) -> None:
        self.s3 = s3
        self.name = name

    def url(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def read(self, key: str, limit: int | None = None) -> Stored | None:
        """None when the key does not exist; TooLarge, without downloading the body, when it exceeds limit."""
        found = fetch(self.s3, self.name, key, limit=limit)
        return None if found is None else Stored(found.body, found.etag, found.version_id)

    def read_json(self, key: str) -> tuple[dict[str, Any], str] | None:
        """One of the handler's own documents and its ETag; a damaged one is a server fault, not a default."""
        stored = self.read(key)
        if stored is None:
            return None
        try:
            doc = json.loads(stored.body)
        except (ValueError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            raise ServerError(f"{self.url(key)} is not a JSON object: the handler's record is damaged")
        return doc, stored.etag

    def write_json(self, key: str, doc: dict[str, Any], *, create: bool = False, if_match: str | None = None) -> str:
        """Write and return the new ETag; with create or if_match, PreconditionLost if the condition fails."""
        extra: dict[str, str] = {}
        if create:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        try:
            response = self.s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType="application/json", **extra)
        except ClientError as exc:
            # If-Match on a key that is gone answers NoSuchKey: also "not the object we expected".
            if extra and error_code(exc) in {*_LOST, _MISSING}:
                raise PreconditionLost(key) from exc
            raise
        return str(response["ETag"])

    def sha256(self, key: str) -> Hashed | None:
        """Hex SHA-256 of the object's bytes, streamed in 1 MiB chunks, with the version read; None if absent."""
        try:
            response = self.s3.get_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        digest = hashlib.sha256()
        body = response["Body"]
        try:
            for chunk in body.iter_chunks(_CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return Hashed(digest.hexdigest(), response.get("VersionId"))

    def listing(self, prefix: str) -> list[Listed]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [Listed(o["Key"], o["LastModified"]) for page in pages for o in page.get("Contents", [])]
