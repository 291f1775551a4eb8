"""Reading an object's sha256 without downloading it, the same way for the primary and every replica."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

SHA256_METADATA = "sha256"
"""User metadata (``x-amz-meta-sha256``) written with every upload; S3 replication copies it to replicas."""
_MISSING = ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True)
class Head:
    sha256: str | None
    replication: str | None
    """The source object's ReplicationStatus: PENDING, COMPLETED, FAILED; REPLICA on a replica."""


def checksum_b64(hex_digest: str) -> str:
    """S3's ChecksumSHA256 form of a hex digest: S3 verifies the upload against it."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _sha_of(response: dict[str, Any]) -> str | None:
    meta = (response.get("Metadata") or {}).get(SHA256_METADATA)
    if isinstance(meta, str) and len(meta) == 64:
        return meta.lower()
    checksum = response.get("ChecksumSHA256")
    if isinstance(checksum, str) and "-" not in checksum and response.get("ChecksumType", "FULL_OBJECT") != "COMPOSITE":
        return base64.b64decode(checksum).hex()
    return None


def head(s3: Any, bucket: str, key: str) -> Head | None:
    """The object's sha256 (metadata, else its full-object checksum, else hashed) or None if it is absent."""
    try:
        response = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as err:
        if str(err.response.get("Error", {}).get("Code")) in _MISSING:
            return None
        raise
    digest = _sha_of(response)
    if digest is None:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
    return Head(digest, response.get("ReplicationStatus"))


def read(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as err:
        if str(err.response.get("Error", {}).get("Code")) in _MISSING:
            return None
        raise
