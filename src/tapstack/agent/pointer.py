"""What the region says should run: ``releases/current.json``, then the release's manifest, as one Plan.

The pointer pins each artifact by the S3 version id the migration function verified; the agent fetches those
versions and nothing else, so an object overwritten after promotion is never what an instance runs. The
manifest supplies what the pointer does not: how to start the application and how to check it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import POINTER_KEY, ROLLOUT, TooLarge, fetch, fingerprint, followed

from .errors import Refused
from .s3util import describe

MAX_DOCUMENT_BYTES = 1024 * 1024
NO_VERSION_IDS = (
    "the pointer records no artifact version ids (an older handler promoted it): fetched the latest versions"
)


@dataclass(frozen=True)
class Artifact:
    key: str
    sha256: str
    version_id: str | None


@dataclass(frozen=True)
class Health:
    path: str
    port: int
    timeout_seconds: float


@dataclass(frozen=True)
class App:
    start: tuple[str, ...]
    health: Health

    def to_json(self) -> dict[str, Any]:
        health = {"path": self.health.path, "port": self.health.port, "timeout_seconds": self.health.timeout_seconds}
        return {"start": list(self.start), "health": health}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> App:
        """The manifest's ``app`` section, or Refused naming the first field that is wrong."""
        if not isinstance(doc, dict):
            raise Refused(f"{where} has no app section: nothing tells the agent how to start the release")
        start = doc.get("start")
        if not isinstance(start, list) or not start or not all(isinstance(a, str) and a for a in start):
            raise Refused(f"{where}: app.start must be a non-empty list of strings (argv), got {start!r}")
        if any("\x00" in a for a in start):
            raise Refused(f"{where}: app.start holds a NUL character, which no process can be started with")
        health = doc.get("health")
        if not isinstance(health, dict):
            raise Refused(f"{where}: app.health must be an object with path, port and timeout_seconds")
        path, port, timeout = health.get("path"), health.get("port"), health.get("timeout_seconds", 5)
        if not isinstance(path, str) or not path.startswith("/"):
            raise Refused(f"{where}: app.health.path must start with '/', got {path!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise Refused(f"{where}: app.health.port must be a TCP port (1-65535), got {port!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 600:
            raise Refused(f"{where}: app.health.timeout_seconds must be a number in (0, 600], got {timeout!r}")
        return cls(tuple(start), Health(path, port, float(timeout)))


@dataclass(frozen=True)
class Plan:
    """One promoted release, resolved to exact object versions and an application to run."""

    release: str
    artifacts: tuple[Artifact, ...]
    app: App
    fingerprint: str

    @property
    def digest(self) -> str:
        """What would be installed: the same artifacts and start command twice are the same install."""
        parts = sorted(f"{a.key} {a.sha256}" for a in self.artifacts)
        return hashlib.sha256(json.dumps([parts, self.app.to_json()], sort_keys=True).encode()).hexdigest()


def _read_json(s3: Any, bucket: str, key: str, version_id: str | None, what: str) -> tuple[Any, bytes] | None:
    """(document, raw bytes), or None when the object (version) does not exist; Refused when unreadable."""
    try:
        found = fetch(s3, bucket, key, version_id=version_id, limit=MAX_DOCUMENT_BYTES)
    except TooLarge:
        raise Refused(f"{what} s3://{bucket}/{key} is larger than {MAX_DOCUMENT_BYTES} bytes") from None
    except (ClientError, BotoCoreError) as exc:
        raise Refused(f"cannot read {what} s3://{bucket}/{key}: {describe(exc)}", permanent=False) from None
    if found is None:
        return None
    try:
        return json.loads(found.body.decode("utf-8-sig")), found.body
    except (UnicodeDecodeError, ValueError):
        raise Refused(f"{what} s3://{bucket}/{key} is not UTF-8 JSON") from None


def _pinned(items: Any) -> tuple[Artifact, ...] | None:
    """The pointer's artifacts, if every one carries key, sha256 and a version id."""
    if not isinstance(items, list) or not items:
        return None
    pinned = []
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("key", "sha256", "version_id")):
            return None
        pinned.append(Artifact(item["key"], item["sha256"].lower(), item["version_id"]))
    return tuple(pinned)


@dataclass(frozen=True)
class Pointer:
    doc: dict[str, Any]
    release: str
    fingerprint: str
    """sha256 of the document: a new promotion (or a rollback) is a new fingerprint."""


def read_pointer(s3: Any, bucket: str, instance_id: str | None = None) -> Pointer | None:
    """The release this instance follows, None before the first promotion; Refused when the pointer cannot be
    read or names no release.

    During a staged rollout that is the rollout's release if this instance is in its cohort, else the release
    the rest of the region serves (``tapstack.contract.followed``). Read alone first: on a converged instance
    an unchanged fingerprint ends the question, one GET per pass.
    """
    found = _read_json(s3, bucket, POINTER_KEY, None, "the release pointer")
    if found is None:
        return None
    doc, raw = found
    if not isinstance(doc, dict) or not isinstance(doc.get("release"), str) or not doc["release"]:
        raise Refused(f"the release pointer s3://{bucket}/{POINTER_KEY} names no release")
    if ROLLOUT not in doc:
        return Pointer(doc, doc["release"], fingerprint(raw))
    chosen = followed(doc, instance_id)
    if not isinstance(chosen.get("release"), str) or not chosen["release"]:
        raise Refused(f"the rollout in s3://{bucket}/{POINTER_KEY} names no release")
    return Pointer(chosen, chosen["release"], fingerprint(json.dumps(chosen, sort_keys=True).encode()))


def resolve(s3: Any, bucket: str, pointer: Pointer) -> Plan:
    """The pointer's release with its manifest's app section; Refused naming what is wrong with either."""
    manifest_key = pointer.doc.get("manifest_key")
    if not isinstance(manifest_key, str) or not manifest_key:
        raise Refused("the pointer names no manifest_key")
    pinned = _pinned(pointer.doc.get("artifacts"))
    if pinned is None:
        raise Refused(
            "the pointer pins no artifact versions (each artifact needs key, sha256 and version_id): "
            "the agent installs only what the migration verified"
        )
    version = pointer.doc.get("manifest_version_id")
    version = version if isinstance(version, str) and version else None
    where = f"manifest s3://{bucket}/{manifest_key}" + (f" (version {version})" if version else "")
    loaded = _read_json(s3, bucket, manifest_key, version, "manifest")
    if loaded is None:
        raise Refused(f"{where} does not exist")
    manifest = loaded[0]
    if not isinstance(manifest, dict):
        raise Refused(f"{where} is not a JSON object")
    if manifest.get("release") != pointer.release:
        raise Refused(f"{where} is for release {manifest.get('release')!r}")
    return Plan(pointer.release, pinned, App.from_json(manifest.get("app"), where), pointer.fingerprint)
