"""S3 replication in the emulator behaves like AWS: the deployed primary -> secondary rule, and rules of our own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.server import Emulator
from tapstack.lib import iam
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed, encrypt_with_kms, resolved

_ROLES: dict[str, str] = {}
"""Source bucket -> the ARN of the replication role ``_grant_replication`` made for it."""


def _grant_replication(
    emulator: Emulator,
    source: str,
    destination: str,
    *,
    source_key: str | None = None,
    replica_key: str | None = None,
    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> str:
    """The replication role TapStack builds (``lib/iam.py``: trust and policy) for ``source`` -> ``destination``;
    ``edit`` changes its statements first."""
    client = emulator.client("iam", "us-east-1")
    name = f"replication-{source}"
    source_arn = f"arn:aws:s3:::{source}"
    account = str(emulator.account_id)
    try:
        client.get_role(RoleName=name)
    except ClientError:
        trust = resolved(lambda: iam.assume_role_policy("s3.amazonaws.com", account, source_arn))
        _ROLES[source] = client.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    def document() -> pulumi.Output[str]:
        statements = iam.replication_statements(
            source_bucket_arn=source_arn,
            destination_bucket_arns=[f"arn:aws:s3:::{destination}"],
            source_key=("us-east-1", source_key) if source_key else None,
            destination_keys=[("eu-west-1", replica_key)] if replica_key else [],
        )
        return iam.to_json(edit(statements) if edit else statements)

    client.put_role_policy(RoleName=name, PolicyName="replication", PolicyDocument=resolved(document))
    return _ROLES[source]


def _eventually(probe: Callable[[], Any], timeout: float = 5.0) -> Any:
    """``probe()`` once it returns something truthy; replication is asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def _head(s3: Any, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key, **({"VersionId": version_id} if version_id else {})))
    except ClientError as err:
        if err.response["Error"]["Code"] in ("404", "NoSuchKey", "NoSuchVersion"):
            return None
        raise


def _status(s3: Any, bucket: str, key: str) -> str | None:
    head = _head(s3, bucket, key)
    return None if head is None else head.get("ReplicationStatus")


# -- the deployed configuration: artifacts/ from the primary to the secondary, KMS, delete markers -------------


def test_an_artifact_written_to_the_primary_appears_in_the_secondary_as_the_same_version_under_the_replica_key(
    deployed: Deployed, unique: str
) -> None:
    source, replica = deployed.out(PRIMARY, "deployment_bucket"), deployed.out(SECONDARY, "deployment_bucket")
    s3, s3_secondary = deployed.aws("s3", PRIMARY), deployed.aws("s3", SECONDARY)
    key = f"artifacts/{unique}/app.tar.gz"
    version = s3.put_object(Bucket=source, Key=key, Body=b"release bytes", Metadata={"sha256": "abc"})["VersionId"]

    assert _eventually(lambda: _status(s3, source, key) == "COMPLETED")
    copied = _head(s3_secondary, replica, key)
    assert copied is not None
    assert copied["ReplicationStatus"] == "REPLICA"
    assert copied["VersionId"] == version
    assert copied["Metadata"] == {"sha256": "abc"}
    assert copied["ServerSideEncryption"] == "aws:kms"
    assert copied["SSEKMSKeyId"] == deployed.out(SECONDARY, "kms_key_arn")
    assert s3_secondary.get_object(Bucket=replica, Key=key)["Body"].read() == b"release bytes"


def test_a_key_outside_artifacts_is_not_replicated_and_has_no_replication_status(
    deployed: Deployed, unique: str
) -> None:
    source, replica = deployed.out(PRIMARY, "deployment_bucket"), deployed.out(SECONDARY, "deployment_bucket")
    s3 = deployed.aws("s3", PRIMARY)
    key = f"fleet/heartbeats/{unique}.json"
    s3.put_object(Bucket=source, Key=key, Body=b"{}")
    time.sleep(0.3)
    assert _status(s3, source, key) is None
    assert _head(deployed.aws("s3", SECONDARY), replica, key) is None


def test_deleting_an_artifact_replicates_the_delete_marker_because_the_rule_enables_it(
    deployed: Deployed, unique: str
) -> None:
    source, replica = deployed.out(PRIMARY, "deployment_bucket"), deployed.out(SECONDARY, "deployment_bucket")
    s3, s3_secondary = deployed.aws("s3", PRIMARY), deployed.aws("s3", SECONDARY)
    key = f"artifacts/{unique}/manifest.json"
    version = s3.put_object(Bucket=source, Key=key, Body=b"{}")["VersionId"]
    assert _eventually(lambda: _head(s3_secondary, replica, key))
    marker = s3.delete_object(Bucket=source, Key=key)["VersionId"]

    assert _eventually(lambda: _head(s3_secondary, replica, key) is None)
    versions = s3_secondary.list_object_versions(Bucket=replica, Prefix=key)
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [marker]
    assert [v["VersionId"] for v in versions["Versions"]] == [version], "the replicated version itself stays"


# -- rules of our own, in a plain emulator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start(tls=False) as started:
        yield started


@pytest.fixture
def buckets(emulator: Emulator, unique: str) -> tuple[Any, str, str]:
    """A versioned source in us-east-1 and a versioned destination in eu-west-1, no replication yet, and the
    replication role TapStack would build for them (no KMS keys)."""
    s3 = emulator.client("s3", "us-east-1")
    source, destination = f"src-{unique}", f"dst-{unique}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=destination, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for bucket in (source, destination):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _grant_replication(emulator, source, destination)
    return s3, source, destination


def _replicate(s3: Any, source: str, destination: str, **rule: Any) -> None:
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": _ROLES[source],
            "Rules": [
                {
                    "ID": "rule",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": "artifacts/"},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
                    **rule,
                }
            ],
        },
    )


def test_a_rule_whose_prefix_does_not_cover_artifacts_does_not_replicate_artifacts(
    buckets: tuple[Any, str, str],
) -> None:
    s3, source, destination = buckets
    _replicate(s3, source, destination, Filter={"Prefix": "releases/"})
    s3.put_object(Bucket=source, Key="artifacts/1.0.0/app.tar.gz", Body=b"x")
    s3.put_object(Bucket=source, Key="releases/current.json", Body=b"{}")

    assert _eventually(lambda: _status(s3, source, "releases/current.json") == "COMPLETED")
    assert _status(s3, source, "artifacts/1.0.0/app.tar.gz") is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=destination).get("Contents", [])] == ["releases/current.json"]


def test_a_disabled_rule_replicates_nothing(buckets: tuple[Any, str, str]) -> None:
    s3, source, destination = buckets
    _replicate(s3, source, destination, Status="Disabled")
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    time.sleep(0.3)
    assert _status(s3, source, "artifacts/a") is None
    assert s3.list_objects_v2(Bucket=destination)["KeyCount"] == 0


def test_delete_markers_are_not_replicated_when_the_rule_disables_them(buckets: tuple[Any, str, str]) -> None:
    s3, source, destination = buckets
    _replicate(s3, source, destination)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _eventually(lambda: _head(s3, destination, "artifacts/a"))
    s3.delete_object(Bucket=source, Key="artifacts/a")
    time.sleep(0.3)
    assert _head(s3, destination, "artifacts/a") is not None
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=destination)


def test_a_tag_filter_replicates_only_objects_carrying_the_tag(buckets: tuple[Any, str, str]) -> None:
    s3, source, destination = buckets
    _replicate(
        s3,
        source,
        destination,
        Filter={"And": {"Prefix": "artifacts/", "Tags": [{"Key": "replicate", "Value": "yes"}]}},
    )
    s3.put_object(Bucket=source, Key="artifacts/tagged", Body=b"x", Tagging="replicate=yes&team=a")
    s3.put_object(Bucket=source, Key="artifacts/untagged", Body=b"x", Tagging="team=a")

    assert _eventually(lambda: _status(s3, source, "artifacts/tagged") == "COMPLETED")
    assert _status(s3, source, "artifacts/untagged") is None
    tags = s3.get_object_tagging(Bucket=destination, Key="artifacts/tagged")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("replicate", "yes"), ("team", "a")]
    assert _head(s3, destination, "artifacts/untagged") is None


def test_sse_kms_objects_replicate_only_when_the_rule_selects_them_and_then_under_the_replica_key(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    s3, source, destination = buckets
    kms = emulator.client("kms", "us-east-1")
    source_key = kms.create_key()["KeyMetadata"]["Arn"]
    replica_key = emulator.client("kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    _grant_replication(emulator, source, destination, source_key=source_key, replica_key=replica_key)
    encrypted = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": source_key}
    _replicate(s3, source, destination)
    s3.put_object(Bucket=source, Key="artifacts/not-selected", Body=b"x", **encrypted)
    _replicate(
        s3,
        source,
        destination,
        SourceSelectionCriteria={"SseKmsEncryptedObjects": {"Status": "Enabled"}},
        Destination={
            "Bucket": f"arn:aws:s3:::{destination}",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": replica_key},
        },
    )
    s3.put_object(Bucket=source, Key="artifacts/selected", Body=b"x", **encrypted)

    assert _eventually(lambda: _status(s3, source, "artifacts/selected") == "COMPLETED")
    replica = _head(s3, destination, "artifacts/selected")
    assert replica is not None
    assert (replica["ServerSideEncryption"], replica["SSEKMSKeyId"]) == ("aws:kms", replica_key)
    assert _status(s3, source, "artifacts/not-selected") is None
    assert _head(s3, destination, "artifacts/not-selected") is None


def test_an_unversioned_destination_leaves_the_source_failed(buckets: tuple[Any, str, str]) -> None:
    s3, source, destination = buckets
    s3.put_bucket_versioning(Bucket=destination, VersioningConfiguration={"Status": "Suspended"})
    _replicate(s3, source, destination)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _eventually(lambda: _status(s3, source, "artifacts/a") == "FAILED")
    assert _head(s3, destination, "artifacts/a") is None


def test_every_version_replicates_in_the_order_it_was_written(buckets: tuple[Any, str, str]) -> None:
    s3, source, destination = buckets
    _replicate(s3, source, destination)
    written = [s3.put_object(Bucket=source, Key="artifacts/a", Body=str(i).encode())["VersionId"] for i in range(5)]
    assert _eventually(lambda: _status(s3, source, "artifacts/a") == "COMPLETED")
    assert _eventually(lambda: len(s3.list_object_versions(Bucket=destination).get("Versions", [])) == 5)
    replicas = s3.list_object_versions(Bucket=destination)["Versions"]
    assert [v["VersionId"] for v in replicas if v["IsLatest"]] == [written[-1]]
    assert {v["VersionId"] for v in replicas} == set(written)
    assert s3.get_object(Bucket=destination, Key="artifacts/a")["Body"].read() == b"4"


def test_a_replication_delay_keeps_the_source_pending_and_the_destination_empty_until_it_passes(
    unique: str,
) -> None:
    with Emulator.start(tls=False, replication_delay=0.6) as slow:
        s3 = slow.client("s3", "us-east-1")
        source, destination = f"slow-src-{unique}", f"slow-dst-{unique}"
        for bucket in (source, destination):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        _grant_replication(slow, source, destination)
        _replicate(s3, source, destination)
        written = time.monotonic()
        s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")

        assert _status(s3, source, "artifacts/a") == "PENDING"
        assert _head(s3, destination, "artifacts/a") is None
        assert _eventually(lambda: _status(s3, source, "artifacts/a") == "COMPLETED")
        assert time.monotonic() - written >= 0.6
        head = _head(s3, destination, "artifacts/a")
        assert head is not None and head["ReplicationStatus"] == "REPLICA"


# -- replication acts as the replication role ---------------------------------------------------------------


def _kms_buckets(emulator: Emulator, s3: Any, source: str, destination: str) -> tuple[str, str]:
    """SSE-KMS on both buckets with an S3 Bucket Key, as TapStack deploys them; keys with AWS's default policy
    (the account root only: every use is IAM's decision)."""
    source_key = emulator.client("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    replica_key = emulator.client("kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    for bucket, key in ((source, source_key), (destination, replica_key)):
        encrypt_with_kms(s3, bucket, key)
    return source_key, replica_key


def _replicate_kms(s3: Any, source: str, destination: str, replica_key: str) -> None:
    _replicate(
        s3,
        source,
        destination,
        SourceSelectionCriteria={"SseKmsEncryptedObjects": {"Status": "Enabled"}},
        Destination={
            "Bucket": f"arn:aws:s3:::{destination}",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": replica_key},
        },
    )


def _settled(s3: Any, source: str, key: str) -> str | None:
    return _eventually(lambda: (_status(s3, source, key) or "PENDING") != "PENDING" and _status(s3, source, key))


def test_the_replication_role_tapstack_builds_replicates_to_a_bucket_key_destination_on_its_iam_policy_alone(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    """The keys only delegate to IAM here, so the role's own statements must hold every KMS permission S3 uses
    as the role: Decrypt on the source key, Encrypt and (for the destination's bucket key) Decrypt on the
    replica key."""
    s3, source, destination = buckets
    source_key, replica_key = _kms_buckets(emulator, s3, source, destination)
    _grant_replication(emulator, source, destination, source_key=source_key, replica_key=replica_key)
    _replicate_kms(s3, source, destination, replica_key)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "COMPLETED"
    replica = _head(s3, destination, "artifacts/a")
    assert replica is not None and replica["SSEKMSKeyId"] == replica_key


def _without(action: str, sid_prefix: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def edit(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for st in statements:
            if st["Sid"].startswith(sid_prefix):
                st["Action"] = [a for a in st["Action"] if a != action]
        return [st for st in statements if st["Action"]]

    return edit


def test_without_decrypt_on_the_replica_key_a_bucket_key_destination_leaves_the_source_failed(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    s3, source, destination = buckets
    source_key, replica_key = _kms_buckets(emulator, s3, source, destination)
    edit = _without("kms:Decrypt", "EncryptReplica")
    _grant_replication(emulator, source, destination, source_key=source_key, replica_key=replica_key, edit=edit)
    _replicate_kms(s3, source, destination, replica_key)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "FAILED"
    assert _head(s3, destination, "artifacts/a") is None


def test_without_decrypt_on_the_source_key_the_source_is_failed(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    s3, source, destination = buckets
    source_key, replica_key = _kms_buckets(emulator, s3, source, destination)
    edit = _without("kms:Decrypt", "DecryptSource")
    _grant_replication(emulator, source, destination, source_key=source_key, replica_key=replica_key, edit=edit)
    _replicate_kms(s3, source, destination, replica_key)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "FAILED"


def test_a_key_policy_naming_the_replication_role_lets_it_use_the_keys_without_any_iam_kms_grant(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    """TapStack's key policy (``iam.key_policy`` with the role as a user) grants on its own: the statement names
    the role by ARN. A statement naming the account root instead would only delegate to IAM, which grants
    nothing here, and the object would be FAILED."""
    s3, source, destination = buckets
    source_key, replica_key = _kms_buckets(emulator, s3, source, destination)
    role = _grant_replication(
        emulator,
        source,
        destination,
        edit=lambda sts: [s for s in sts if not s["Sid"].startswith(("Decrypt", "Encrypt"))],
    )
    for region, key in (("us-east-1", source_key), ("eu-west-1", replica_key)):
        policy = resolved(lambda region=region: iam.key_policy(str(emulator.account_id), "aws", region, [role]))  # type: ignore[misc]
        emulator.client("kms", region).put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
    _replicate_kms(s3, source, destination, replica_key)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "COMPLETED"


def test_an_explicit_deny_in_the_replica_key_policy_fails_replication_whatever_iam_allows(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    s3, source, destination = buckets
    source_key, replica_key = _kms_buckets(emulator, s3, source, destination)
    role = _grant_replication(emulator, source, destination, source_key=source_key, replica_key=replica_key)
    deny = {"Sid": "NoReplicas", "Effect": "Deny", "Principal": {"AWS": role}, "Action": "kms:Encrypt", "Resource": "*"}
    policy = json.loads(
        emulator.client("kms", "eu-west-1").get_key_policy(KeyId=replica_key, PolicyName="default")["Policy"]
    )
    policy["Statement"].append(deny)
    emulator.client("kms", "eu-west-1").put_key_policy(
        KeyId=replica_key, PolicyName="default", Policy=json.dumps(policy)
    )
    _replicate_kms(s3, source, destination, replica_key)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "FAILED"


def test_a_role_that_does_not_exist_or_does_not_trust_s3_replicates_nothing(
    emulator: Emulator, buckets: tuple[Any, str, str]
) -> None:
    s3, source, destination = buckets
    account = str(emulator.account_id)
    emulator.client("iam", "us-east-1").update_assume_role_policy(
        RoleName=f"replication-{source}",
        PolicyDocument=resolved(lambda: iam.assume_role_policy("s3.amazonaws.com", account, "arn:aws:s3:::other")),
    )
    _replicate(s3, source, destination)
    s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")
    assert _settled(s3, source, "artifacts/a") == "FAILED", "the trust names another source bucket"
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{emulator.account_id}:role/no-such-role",
            "Rules": [
                {
                    "ID": "rule",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": "artifacts/"},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
                }
            ],
        },
    )
    s3.put_object(Bucket=source, Key="artifacts/b", Body=b"x")
    assert _settled(s3, source, "artifacts/b") == "FAILED"
