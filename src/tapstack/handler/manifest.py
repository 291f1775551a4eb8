"""A release manifest: read with a size limit, checked field by field, then every artifact hashed and pinned.

All of it happens before the release lock is taken, so a bad manifest costs reads only and writes nothing.
Each artifact is pinned by the S3 version id of the very GET whose bytes were hashed: an S3 version's bytes
never change, so the version recorded in the pointer is what was verified, however long the promotion takes
and whatever is uploaded over the key meanwhile; the instances download exactly that version.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tapstack.contract import TooLarge

from .events import check_key, shown
from .outcomes import BadRequest, NotFound, ServerError
from .settings import ARTIFACT_WORKERS, MAX_RELEASE_CHARS, RuntimeConfig
from .store import Bucket

SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_REPORTED = 20
"""Artifact failures listed in a reply: enough to fix a batch, bounded for a 5000-artifact manifest."""


@dataclass(frozen=True)
class Artifact:
    key: str
    sha256: str


@dataclass(frozen=True)
class Pinned:
    key: str
    sha256: str
    version_id: str

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "sha256": self.sha256, "version_id": self.version_id}


@dataclass(frozen=True)
class Manifest:
    key: str
    release: str
    artifacts: tuple[Artifact, ...]
    sha256: str
    version_id: str | None


def _artifact(index: int, item: object, seen: dict[str, int]) -> Artifact:
    where = f"manifest.artifacts[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with key and sha256", field=where)
    key = check_key(item.get("key"), f"{where}.key")
    if key in seen:
        raise BadRequest(f"{where}.key {shown(key)} repeats manifest.artifacts[{seen[key]}].key", field=f"{where}.key")
    seen[key] = index
    digest = item.get("sha256")
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise BadRequest(f"{where}.sha256 must be 64 hex characters, got {shown(digest)}", field=f"{where}.sha256")
    return Artifact(key, digest.lower())


def load_manifest(bucket: Bucket, key: str, config: RuntimeConfig) -> Manifest:
    """The manifest at key, or the first thing wrong with it; other fields than release/artifacts pass."""
    try:
        stored = bucket.read(key, limit=config.max_manifest_bytes)
    except TooLarge as exc:
        raise BadRequest(
            f"manifest_key {bucket.url(key)} is {exc.size} bytes; the limit is {config.max_manifest_bytes}",
            field="manifest_key",
        ) from None
    if stored is None:
        raise NotFound(
            f"manifest_key {bucket.url(key)} does not exist: upload the manifest first", field="manifest_key"
        )
    try:
        doc: Any = json.loads(stored.body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadRequest(f"manifest_key {bucket.url(key)} is not UTF-8 JSON", field="manifest_key") from None
    except RecursionError:
        raise BadRequest(
            f"manifest_key {bucket.url(key)} is nested too deeply to be a manifest "
            "(a manifest is an object of release and artifacts)",
            field="manifest_key",
        ) from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"manifest_key {bucket.url(key)} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="manifest_key",
        ) from None
    if not isinstance(doc, dict):
        raise BadRequest(
            f"manifest_key {bucket.url(key)} holds a JSON {type(doc).__name__}; expected an object with "
            "release and artifacts",
            field="manifest_key",
        )
    release = doc.get("release")
    if (
        not isinstance(release, str)
        or not release.strip()
        or len(release) > MAX_RELEASE_CHARS
        or not release.isprintable()
    ):
        raise BadRequest(
            f"manifest.release must be printable text of 1 to {MAX_RELEASE_CHARS} characters, got {shown(release)}",
            field="manifest.release",
        )
    items = doc.get("artifacts")
    if not isinstance(items, list):
        raise BadRequest(
            f"manifest.artifacts must be a list of {{key, sha256}}, got {type(items).__name__}",
            field="manifest.artifacts",
        )
    if not items:
        raise BadRequest(
            "manifest.artifacts is empty: a release must ship at least one artifact",
            field="manifest.artifacts",
        )
    if len(items) > config.max_artifacts:
        raise BadRequest(
            f"manifest.artifacts lists {len(items)} artifacts; the limit is {config.max_artifacts}",
            field="manifest.artifacts",
        )
    seen: dict[str, int] = {}
    artifacts = tuple(_artifact(i, item, seen) for i, item in enumerate(items))
    return Manifest(key, release, artifacts, hashlib.sha256(stored.body).hexdigest(), stored.version_id)


def verify_artifacts(bucket: Bucket, manifest: Manifest) -> tuple[Pinned, ...]:
    """Every artifact present with the bytes the manifest promises, pinned by the version hashed; else a 400.

    Hashes are computed in parallel (boto3 clients are thread-safe); an AWS error other than a missing key
    propagates, since it says nothing about the caller's manifest. An object without a version id (a bucket
    whose versioning was never enabled) cannot be pinned: the deployment is at fault, and nothing is promoted.
    """
    workers = min(ARTIFACT_WORKERS, len(manifest.artifacts))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artifact") as pool:
        actual = list(pool.map(lambda a: bucket.sha256(a.key), manifest.artifacts))
    problems: list[dict[str, str]] = []
    for index, (artifact, digest) in enumerate(zip(manifest.artifacts, actual, strict=True)):
        where = f"manifest.artifacts[{index}]"
        if digest is None:
            problems.append({"field": f"{where}.key", "error": f"{bucket.url(artifact.key)} does not exist"})
        elif digest.sha256 != artifact.sha256:
            problems.append(
                {
                    "field": f"{where}.sha256",
                    "error": f"{artifact.key} has sha256 {digest.sha256}, the manifest expects {artifact.sha256}",
                }
            )
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadRequest(
            f"{first['field']}: {first['error']}{more}; nothing was promoted",
            field=first["field"],
            result={"problems": problems[:_REPORTED], "problem_count": len(problems)},
        )
    unversioned = [a.key for a, d in zip(manifest.artifacts, actual, strict=True) if d and d.version_id is None]
    if manifest.version_id is None or unversioned:
        unpinned = manifest.key if manifest.version_id is None else unversioned[0]
        raise ServerError(
            f"{bucket.url(unpinned)} has no S3 version id, so the release cannot be pinned to what was verified: "
            "enable versioning on the deployment bucket (validate checks it), upload the release again, retry"
        )
    return tuple(
        Pinned(a.key, d.sha256, d.version_id)
        for a, d in zip(manifest.artifacts, actual, strict=True)
        if d is not None and d.version_id is not None
    )
