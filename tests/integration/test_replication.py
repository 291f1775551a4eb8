"""S3 replication in the emulator behaves like AWS: the deployed primary -> secondary rule, and rules of our own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.server import Emulator
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed

ROLE = "arn:aws:iam::123456789012:role/replication"


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
    """A versioned source in us-east-1 and a versioned destination in eu-west-1, no replication yet."""
    s3 = emulator.client("s3", "us-east-1")
    source, destination = f"src-{unique}", f"dst-{unique}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=destination, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for bucket in (source, destination):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3, source, destination


def _replicate(s3: Any, source: str, destination: str, **rule: Any) -> None:
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": ROLE,
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
        _replicate(s3, source, destination)
        written = time.monotonic()
        s3.put_object(Bucket=source, Key="artifacts/a", Body=b"x")

        assert _status(s3, source, "artifacts/a") == "PENDING"
        assert _head(s3, destination, "artifacts/a") is None
        assert _eventually(lambda: _status(s3, source, "artifacts/a") == "COMPLETED")
        assert time.monotonic() - written >= 0.6
        head = _head(s3, destination, "artifacts/a")
        assert head is not None and head["ReplicationStatus"] == "REPLICA"
