"""The handler against moto over HTTP, as the local emulator runs it: `AWS_ENDPOINT_URL` on loopback.

In-process mocking skips the wire; this proves the clients honour the endpoint variable and that the
conditional headers (If-None-Match, If-Match) survive real HTTP serialisation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tapstack.handler.app import handler

REGION = "us-west-2"
BUCKET = "tapstack-deploy-http-usw2"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def region(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    config = {"project": "tapstack", "environment": "http", "region": REGION, "primary_region": "us-east-1"}
    boto3.client("ssm", region_name=REGION, endpoint_url=endpoint).put_parameter(
        Name="/tapstack/http/config", Value=json.dumps(config), Type="SecureString", Overwrite=True
    )
    secret = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint).create_secret(
        Name="tapstack-http-token", SecretString="x"
    )
    topic = boto3.client("sns", region_name=REGION, endpoint_url=endpoint).create_topic(Name="tapstack-http")
    for key, value in {
        "TAPSTACK_REGION": REGION,
        "TAPSTACK_DEPLOYMENT_BUCKET": BUCKET,
        "TAPSTACK_CONFIG_PARAMETER": "/tapstack/http/config",
        "TAPSTACK_SECRET_ARN": secret["ARN"],
        "TAPSTACK_TOPIC_ARN": topic["TopicArn"],
        "TAPSTACK_ROLE": "secondary",
        "TAPSTACK_REPLICA_BUCKETS": "[]",
    }.items():
        monkeypatch.setenv(key, value)
    return s3


def test_a_secondary_migrates_once_over_http(region: Any) -> None:
    data = b"artifact over http"
    region.put_object(Bucket=BUCKET, Key="artifacts/a.bin", Body=data)
    manifest = {
        "release": "h1",
        "artifacts": [{"key": "artifacts/a.bin", "sha256": hashlib.sha256(data).hexdigest()}],
    }
    region.put_object(Bucket=BUCKET, Key="artifacts/manifests/h1.json", Body=json.dumps(manifest).encode())
    event = {"action": "migrate", "migration_id": "h-001", "manifest_key": "artifacts/manifests/h1.json"}
    first, again = handler(event, None), handler(event, None)
    assert (first["statusCode"], first["body"]["outcome"]) == (200, "success"), first["body"]["message"]
    assert (again["statusCode"], again["body"]["outcome"]) == (200, "noop")
    pointer = json.loads(region.get_object(Bucket=BUCKET, Key="releases/current.json")["Body"].read())
    assert pointer["migration_id"] == "h-001"
