"""Object Lock turned on for a bucket that already holds objects, as ``deploymentObjectLockDays`` does to a
deployed stack: S3 allows it on a versioned bucket (moto alone refused it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.server import Emulator

REGION = "us-east-1"
LOCK = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start(tls=False) as started:
        yield started


def test_a_versioned_bucket_holding_objects_takes_object_lock_in_place(emulator: Emulator, unique: str) -> None:
    s3 = emulator.client("s3", REGION)
    bucket = f"lock-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="releases/current.json", Body=b"{}")
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=LOCK)
    got = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert got["ObjectLockEnabled"] == "Enabled"
    assert (got["Rule"]["DefaultRetention"]["Mode"], got["Rule"]["DefaultRetention"]["Days"]) == ("GOVERNANCE", 30)
    assert s3.get_object(Bucket=bucket, Key="releases/current.json")["Body"].read() == b"{}", "the same bucket"


def test_an_unversioned_bucket_is_refused_object_lock(emulator: Emulator, unique: str) -> None:
    s3 = emulator.client("s3", REGION)
    bucket = f"nolock-{unique}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as refused:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=LOCK)
    assert refused.value.response["Error"]["Code"] == "InvalidBucketState"
