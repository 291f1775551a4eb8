"""Upload a package to the primary's deployment bucket: idempotent, resumable, never overwriting a version.

Artifacts go first and the manifest last, so a manifest in the bucket means a complete upload. A version whose
manifest is already there with other content is refused (409): the version was released, or at least fully
uploaded, with other bytes, and instances pin what was promoted; a new version is the way to ship a change.
An artifact already present with the same sha256 is skipped, so a re-run resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import ReleaseError, VersionConflict
from .objects import SHA256_METADATA, checksum_b64, head, read
from .package import Artifact, Package

UPLOAD_WORKERS = 8


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]


def _put(s3: Any, bucket: str, artifact: Artifact) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=artifact.key,
        Body=artifact.body,
        Metadata={SHA256_METADATA: artifact.sha256},
        ChecksumSHA256=checksum_b64(artifact.sha256),
    )


def existing_manifest(s3: Any, bucket: str, package: Package) -> bytes | None:
    """The manifest already stored for this version, refusing one with other content (a 409, not an overwrite)."""
    try:
        stored = read(s3, bucket, package.manifest.key)
    except (ClientError, BotoCoreError) as err:
        raise ReleaseError(f"the primary deployment bucket {bucket} is unreachable: {err}") from None
    if stored is not None and hashlib.sha256(stored).hexdigest() != package.manifest.sha256:
        raise VersionConflict(
            f"409: version {package.version} already exists in s3://{bucket}/{package.manifest.key} with other "
            f"content (manifest sha256 {hashlib.sha256(stored).hexdigest()[:12]}..., this one "
            f"{package.manifest.sha256[:12]}...); versions are immutable: release the change as a new --version"
        )
    return stored


def upload(
    s3: Any, bucket: str, package: Package, on_object: Callable[[str, bool], None] | None = None
) -> UploadResult:
    """Every object of the package in ``bucket``; ``on_object(key, uploaded)`` after each one."""
    stored = existing_manifest(s3, bucket, package)

    def one(artifact: Artifact) -> bool:
        found = head(s3, bucket, artifact.key)
        if found is not None and found.sha256 == artifact.sha256:
            sent = False
        else:
            _put(s3, bucket, artifact)
            sent = True
        if on_object is not None:
            on_object(artifact.key, sent)
        return sent

    try:
        with ThreadPoolExecutor(max_workers=UPLOAD_WORKERS, thread_name_prefix="upload") as pool:
            sent = list(pool.map(one, package.artifacts))
        if stored is None:
            _put(s3, bucket, package.manifest)
        if on_object is not None:
            on_object(package.manifest.key, stored is None)
    except (ClientError, BotoCoreError) as err:
        raise ReleaseError(f"upload to the primary deployment bucket {bucket} failed: {err}") from None
    keys = [a.key for a in package.artifacts]
    uploaded = [k for k, s in zip(keys, sent, strict=True) if s] + ([package.manifest.key] if stored is None else [])
    skipped = [k for k, s in zip(keys, sent, strict=True) if not s] + ([] if stored is None else [package.manifest.key])
    return UploadResult(tuple(uploaded), tuple(skipped))
