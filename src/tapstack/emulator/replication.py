"""S3 replication in the emulator: moto stores a bucket's replication configuration but never copies an object.

What AWS does, and what this module therefore does for every bucket with a replication configuration
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnt-replicated.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html):

- A new object version whose key (and tags) match the filter of an ``Enabled`` rule is copied, asynchronously,
  to that rule's destination bucket: same key, same version id, same body, metadata and tags; the source
  version reads ``x-amz-replication-status: PENDING`` until every destination holds it, then ``COMPLETED``
  (``FAILED`` when a destination cannot take it: missing or unversioned bucket); the replica reads ``REPLICA``.
- An object encrypted with SSE-KMS replicates only when the rule's ``SourceSelectionCriteria`` enables
  ``SseKmsEncryptedObjects``; the replica is then encrypted with the rule's ``ReplicaKmsKeyID``.
- Several rules naming one destination: only the matching rule with the highest priority applies.
- A delete marker (a delete without a version id) replicates only when the matching rule enables
  ``DeleteMarkerReplication``; deleting a specific version never replicates.
- Replicas are not replicated again; objects written before the configuration are not replicated; a key
  outside every rule's filter gets no replication status at all.

- Replication acts as the configuration's role (``authorization.py``): S3 must be able to assume it (its trust
  policy admits ``s3.amazonaws.com`` for this account and source bucket), its identity policies must allow
  reading the source version (``s3:GetObjectVersionForReplication``, with tags ``s3:GetObjectVersionTagging``,
  with Object Lock ``s3:GetObjectRetention`` and ``s3:GetObjectLegalHold``) and writing the replica
  (``s3:ReplicateObject``, ``s3:ReplicateTags``, ``s3:ReplicateDelete`` for a delete marker), and the keys must
  let it decrypt the source (``kms:Decrypt``) and encrypt the replica (``kms:Encrypt``, plus ``kms:Decrypt`` when
  the destination uses an S3 Bucket Key), each judged by the key policy and, where it delegates, IAM. A denial
  leaves the source version FAILED and the destination without the replica, as in AWS
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).

The copy happens after the request that wrote the
object has finished (tags and metadata are set after moto stores the object), plus the per-account delay set
with ``set_delay``: a test can hold replication back to exercise a release's replication timeout.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..graph import as_list
from .wsgi import WsgiApp

STATUS_ATTRIBUTE = "_tapstack_replication_status"
_log = logging.getLogger(__name__)
_local = threading.local()
_delays: dict[str, float] = {}


def set_delay(account_id: str, seconds: float) -> None:
    """Hold each replication in ``account_id`` back by ``seconds`` (0: as soon as the write's request ends)."""
    if seconds < 0:
        raise ValueError(f"replication delay {seconds!r}: expected seconds >= 0")
    _delays[account_id] = seconds


def status_of(key: Any) -> str | None:
    """The ``x-amz-replication-status`` of a moto object version, None when it is not eligible."""
    value = getattr(key, STATUS_ATTRIBUTE, None)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _Write:
    backend: Any = field(repr=False)
    bucket: str
    key: str
    version_id: str
    delete_marker: bool


@dataclass(frozen=True)
class _Target:
    bucket: str
    storage_class: str | None
    replica_kms_key: str | None


def object_written(backend: Any, bucket_name: str, key_name: str, version_id: str, delete_marker: bool = False) -> None:
    """moto stored a new version (or a delete marker): replicate it once the request that wrote it ends."""
    if getattr(_local, "replicating", False):
        return
    write = _Write(backend, bucket_name, key_name, version_id, delete_marker)
    pending: list[_Write] | None = getattr(_local, "pending", None)
    if pending is None:
        _schedule(write)
    else:
        pending.append(write)


def after_each_request(app: WsgiApp) -> WsgiApp:
    """Schedule the replications a request caused once moto has finished it (tags, metadata and all)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _local.pending = []
        try:
            return app(environ, start_response)
        finally:
            pending, _local.pending = _local.pending, None
            for write in pending:
                _schedule(write)

    return serve


# -- which rules apply ---------------------------------------------------------------------------------------


def _tags_of(condition: dict[str, Any]) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value") or "") for t in as_list(condition.get("Tag"))}


def _filter_matches(rule: dict[str, Any], key: str, tags: dict[str, str]) -> bool:
    if "Filter" not in rule:  # the earlier (V1) schema: a prefix on the rule itself
        return key.startswith(str(rule.get("Prefix") or ""))
    condition = rule["Filter"] or {}
    if "And" in condition:
        condition = condition["And"] or {}
    prefix = str(condition.get("Prefix") or "")
    wanted = _tags_of(condition)
    return key.startswith(prefix) and all(tags.get(k) == v for k, v in wanted.items())


def _enabled(block: Any) -> bool:
    return isinstance(block, dict) and block.get("Status") == "Enabled"


def _targets(write: _Write, obj: Any) -> list[_Target]:
    """Per destination bucket, the highest-priority enabled rule that covers this write."""
    bucket = write.backend.get_bucket(write.bucket)
    configuration = getattr(bucket, "replication", None) or {}
    tags = {} if write.delete_marker else write.backend.tagger.get_tag_dict_for_resource(obj.arn)
    chosen: dict[str, tuple[int, dict[str, Any]]] = {}
    for rule in as_list(configuration.get("Rule")):
        if rule.get("Status") != "Enabled" or not _filter_matches(rule, write.key, tags):
            continue
        if write.delete_marker and not _enabled(rule.get("DeleteMarkerReplication")):
            continue
        selection = rule.get("SourceSelectionCriteria") or {}
        kms_object = not write.delete_marker and obj.encryption == "aws:kms"
        if kms_object and not _enabled(selection.get("SseKmsEncryptedObjects")):
            continue
        destination = str((rule.get("Destination") or {}).get("Bucket") or "")
        priority = int(rule.get("Priority") or 0)
        if destination and (destination not in chosen or priority > chosen[destination][0]):
            chosen[destination] = (priority, rule)
    targets = []
    for destination, (_, rule) in chosen.items():
        spec = rule.get("Destination") or {}
        encryption = spec.get("EncryptionConfiguration") or {}
        targets.append(
            _Target(destination.split(":::", 1)[-1], spec.get("StorageClass"), encryption.get("ReplicaKmsKeyID"))
        )
    return targets


def _version(backend: Any, bucket_name: str, key_name: str, version_id: str) -> Any | None:
    for candidate in backend.get_bucket(bucket_name).keys.getlist(key_name, []):
        if str(candidate.version_id) == version_id:
            return candidate
    return None


# -- the copy ------------------------------------------------------------------------------------------------


def _schedule(write: _Write) -> None:
    obj = _version(write.backend, write.bucket, write.key, write.version_id)
    if obj is None:
        return
    targets = _targets(write, obj)
    if not targets:
        return
    if not write.delete_marker:
        setattr(obj, STATUS_ATTRIBUTE, "PENDING")
    _worker().submit(time.monotonic() + _delays.get(write.backend.account_id, 0.0), lambda: _replicate(write, targets))


def _replicate(write: _Write, targets: list[_Target]) -> None:
    source = _version(write.backend, write.bucket, write.key, write.version_id)
    if source is None:  # that version was deleted before it could replicate
        return
    _local.replicating = True
    try:
        copied = [_copy_to(write, source, target) for target in targets]
    finally:
        _local.replicating = False
    if not write.delete_marker:
        setattr(source, STATUS_ATTRIBUTE, "COMPLETED" if all(copied) else "FAILED")


def _role_may_replicate(write: _Write, source: Any, destination: Any, target: _Target) -> bool:
    """Whether the replication role may copy this version (or delete marker) to ``destination``."""
    from . import authorization as authz

    backend = write.backend
    bucket = backend.get_bucket(write.bucket)
    account = str(backend.account_id)
    found = authz.role_caller(account, str((bucket.replication or {}).get("Role") or ""))
    if found is None:
        return False
    caller, role = found
    source_arn = f"arn:{bucket.partition}:s3:::{write.bucket}"
    if not authz.trusts_service(role, "s3.amazonaws.com", {"aws:SourceAccount": account, "aws:SourceArn": source_arn}):
        return False
    context = {"aws:PrincipalArn": caller.principal_arn}
    replica_arn = f"arn:{bucket.partition}:s3:::{target.bucket}/{write.key}"
    source_object = f"{source_arn}/{write.key}"

    def may(action: str, resource: str) -> bool:
        return authz.identity_decision(caller.policies, action, resource, context) is authz.Decision.ALLOW

    if write.delete_marker:
        return may("s3:ReplicateDelete", replica_arn)
    needed = [("s3:GetObjectVersionForReplication", source_object), ("s3:ReplicateObject", replica_arn)]
    if backend.tagger.get_tag_dict_for_resource(source.arn):
        needed += [("s3:GetObjectVersionTagging", source_object), ("s3:ReplicateTags", replica_arn)]
    if getattr(bucket, "object_lock_enabled", False):
        needed += [("s3:GetObjectRetention", source_object), ("s3:GetObjectLegalHold", source_object)]
    if not all(may(action, resource) for action, resource in needed):
        return False
    source_key = str(source.kms_key_id) if source.encryption == "aws:kms" and source.kms_key_id else None
    if source_key and not authz.kms_allowed(caller, str(bucket.region_name), source_key, "kms:Decrypt", "s3"):
        return False
    if source.encryption == "aws:kms" and target.replica_kms_key is not None:
        region = str(destination.region_name)
        actions = ["kms:Encrypt"] + (["kms:Decrypt"] if authz.bucket_default_key(destination)[1] else [])
        return all(authz.kms_allowed(caller, region, target.replica_kms_key, a, "s3") for a in actions)
    return True


def _copy_to(write: _Write, source: Any, target: _Target) -> bool:
    """One destination; False when it cannot hold a replica or the role may not copy it (AWS marks the source
    FAILED)."""
    backend = write.backend
    try:
        destination = backend.get_bucket(target.bucket)
    except Exception:  # moto's MissingBucket
        return False
    if not destination.is_versioned or not _role_may_replicate(write, source, destination, target):
        return False
    if write.delete_marker:
        if write.key in destination.keys:
            marker = backend._set_delete_marker(target.bucket, write.key)
            marker._version_id = write.version_id
        return True
    kms = source.encryption == "aws:kms" and target.replica_kms_key is not None
    replica = backend.put_object(
        target.bucket,
        write.key,
        source.value,
        storage=target.storage_class or source.storage_class,
        etag=source.etag.strip('"'),
        encryption="aws:kms" if kms else source.encryption,
        kms_key_id=target.replica_kms_key if kms else None,
        checksum_value=source.checksum_value,
        disable_notification=True,
    )
    replica._version_id = source.version_id
    replica.set_metadata(source.metadata)
    replica.checksum_algorithm = source.checksum_algorithm
    backend.tagger.copy_tags(source.arn, replica.arn)
    setattr(replica, STATUS_ATTRIBUTE, "REPLICA")
    return True


class _Worker:
    """One thread replicating in due order: replicas of one key arrive in the order the versions were written."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._running = False
        threading.Thread(target=self._run, name="tapstack-replication", daemon=True).start()

    def submit(self, due: float, job: Callable[[], None]) -> None:
        with self._ready:
            heapq.heappush(self._queue, (due, next(self._order), job))
            self._ready.notify_all()

    def settle(self, timeout: float) -> bool:
        """Wait until no job is running and none is due; False if that took longer than ``timeout``."""
        with self._ready:
            return self._ready.wait_for(
                lambda: not self._running and (not self._queue or self._queue[0][0] > time.monotonic()), timeout
            )

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    self._ready.wait(None if not self._queue else self._queue[0][0] - time.monotonic())
                _, _, job = heapq.heappop(self._queue)
                self._running = True
            try:
                job()
            except Exception:  # one broken replication must not stop every later one; its source stays PENDING
                _log.exception("replication failed")
            finally:
                with self._ready:
                    self._running = False
                    self._ready.notify_all()


_worker_lock = threading.Lock()
_the_worker: _Worker | None = None


def settle(timeout: float = 10.0) -> bool:
    """Wait until every replication that is due has landed (those held back by ``set_delay`` stay queued): a test
    that reads a replication status right after a write sees the same thing on every run, however loaded the machine.
    False if that took longer than ``timeout``."""
    return _worker().settle(timeout)


def _worker() -> _Worker:
    global _the_worker
    with _worker_lock:
        if _the_worker is None:
            _the_worker = _Worker()
        return _the_worker
