"""One region's migration platform in in-process moto, built the way the infrastructure builds it.

Each test gets its own resources: a versioned, encrypted deployment bucket, the SecureString config, the
secret, a deployment topic fanned out to an SQS queue (so tests read the notifications that were really
published), and, as the handler runs as the primary, the secondary buckets with a replication rule each.
They live in one `mock_aws` per test module (starting one costs ~0.15 s) under names unique to the test,
so no test sees another's state.

One thing is answered as AWS answers rather than as moto does: reading the replication configuration back.
moto stores the rules as written but returns each with an empty filter and delete-marker replication
Disabled (the emulator corrects this in ``moto_fidelity``); here the handler's own S3 client gets the rules
exactly as the test wrote them, as AWS returns them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tapstack.handler import clients
from tapstack.handler.app import handler
from tapstack.runtime import Runtime
from tests.helpers import mocked_aws

REGION = "eu-west-1"
SECONDARY_REGIONS = ("us-east-1", "us-west-2")
SECRET_VALUE = "tok-9f8e7d6c5b4a-never-shown"
CONFIG: dict[str, Any] = {
    "project": "tapstack",
    "environment": "dev",
    "region": REGION,
    "primary_region": REGION,
    "max_manifest_bytes": 1_048_576,
    "max_artifacts": 5000,
    "status_limit": 20,
}


class LambdaContext:
    """What the Lambda runtime passes: the handler reads the request id and the remaining time."""

    aws_request_id = "req-0001"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Region:
    s3: Any
    ssm: Any
    sns: Any
    sqs: Any
    bucket: str
    replicas: tuple[str, ...]
    parameter: str
    secret_arn: str
    topic_arn: str
    queue_url: str
    replication: list[dict[str, Any]] | None = None
    """The deployment bucket's replication rules as written (and as AWS returns them); None: no configuration."""
    seen: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: Any) -> dict[str, Any]:
        return handler(event, LambdaContext())

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def release(self, name: str, count: int = 3, key: str | None = None) -> str:
        """Upload `count` artifacts and their manifest; return the manifest key."""
        artifacts = []
        for i in range(count):
            data = f"{name}-artifact-{i}".encode()
            akey = f"artifacts/{name}/part-{i}.bin"
            self.put(akey, data)
            artifacts.append({"key": akey, "sha256": hashlib.sha256(data).hexdigest()})
        mkey = key or f"artifacts/manifests/{name}.json"
        self.put_json(mkey, {"release": name, "artifacts": artifacts})
        return mkey

    def set_replication(self, rules: list[dict[str, Any]] | None) -> None:
        """Replace the deployment bucket's replication configuration (None deletes it)."""
        if rules is None:
            self.s3.delete_bucket_replication(Bucket=self.bucket)
        else:
            self.s3.put_bucket_replication(
                Bucket=self.bucket, ReplicationConfiguration={"Role": REPLICATION_ROLE, "Rules": rules}
            )
        self.replication = rules

    def put_json(self, key: str, doc: Any) -> None:
        self.put(key, json.dumps(doc).encode())

    def read(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return dict(json.loads(body))

    def doc(self, key: str) -> dict[str, Any]:
        """A JSON object that must exist."""
        found = self.read(key)
        assert found is not None, f"{key} is missing"
        return found

    def versions(self) -> set[tuple[str, str]]:
        """Every object version in the bucket: a write of any kind, even an overwrite, adds one."""
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket)
        return {(v["Key"], v["VersionId"]) for page in pages for v in page.get("Versions", [])}

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def notifications(self) -> list[dict[str, Any]]:
        """All notifications published so far, in order (the queue is drained into `seen`)."""
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return self.seen
            for message in batch:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def set_config(self, value: Any, kind: str = "SecureString") -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.ssm.put_parameter(Name=self.parameter, Value=text, Type=kind, Overwrite=True)


@functools.cache
def client(service: str, region: str = REGION) -> Any:
    """The tests' own clients, made once: creating one costs up to 0.3 s, and moto intercepts them all."""
    return boto3.client(service, region_name=region)


def handler_client(service: str) -> Any:
    """The client the handler itself uses under Lambda (this process's runtime), for hooks on its calls."""
    return clients.client(Runtime.of_process().session, service, REGION)


@pytest.fixture(scope="module")
def moto_world() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
            patch.delenv(name)
        with mocked_aws():
            yield


REPLICATION_ROLE = "arn:aws:iam::123456789012:role/tapstack-replication-dev"


@pytest.fixture
def aws(moto_world: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Region]:
    tag = uuid.uuid4().hex[:8]
    bucket = f"tapstack-deploy-dev-euw1-{tag}"
    replicas = tuple(f"tapstack-deploy-dev-{r.replace('-', '')}-{tag}" for r in SECONDARY_REGIONS)
    parameter = f"/tapstack/dev/{REGION}/migration-config-{tag}"
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    for name, region in zip(replicas, SECONDARY_REGIONS, strict=True):
        replica = client("s3", region)
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        replica.create_bucket(Bucket=name, **kwargs)
        replica.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    ssm = client("ssm")
    ssm.put_parameter(Name=parameter, Value=json.dumps(CONFIG), Type="SecureString")
    secret_arn = client("secretsmanager").create_secret(
        Name=f"tapstack-migration-token-dev-euw1-{tag}", SecretString=SECRET_VALUE
    )["ARN"]
    sns = client("sns")
    topic_arn = sns.create_topic(
        Name=f"tapstack-deployments-dev-euw1-{tag}", Attributes={"KmsMasterKeyId": "alias/aws/sns"}
    )["TopicArn"]
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=f"deployments-{tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    environment = {
        "TAPSTACK_REGION": REGION,
        "TAPSTACK_DEPLOYMENT_BUCKET": bucket,
        "TAPSTACK_CONFIG_PARAMETER": parameter,
        "TAPSTACK_SECRET_ARN": secret_arn,
        "TAPSTACK_TOPIC_ARN": topic_arn,
        "TAPSTACK_ROLE": "primary",
        "TAPSTACK_REPLICA_BUCKETS": json.dumps(list(replicas)),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    world = Region(
        s3=s3,
        ssm=ssm,
        sns=sns,
        sqs=sqs,
        bucket=bucket,
        replicas=replicas,
        parameter=parameter,
        secret_arn=secret_arn,
        topic_arn=topic_arn,
        queue_url=queue_url,
    )
    world.set_replication([replication_rule(i, name) for i, name in enumerate(replicas)])
    with _replication_as_aws_returns_it(world):
        yield world


@contextlib.contextmanager
def _replication_as_aws_returns_it(region: Region) -> Iterator[None]:
    """The handler's GetBucketReplication on this test's bucket answers the rules as written."""
    target = handler_client("s3")
    asked: dict[str, str] = {}

    def remember(params: dict[str, Any], **_: Any) -> None:
        asked["bucket"] = params.get("Bucket", "")

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if asked.get("bucket") != region.bucket:
            return None
        if region.replication is None:
            error = {"Code": "ReplicationConfigurationNotFoundError", "Message": "no replication configuration"}
            return AWSResponse("", 404, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 404}}
        configuration = {"Role": REPLICATION_ROLE, "Rules": region.replication}
        return AWSResponse("", 200, {}, None), {
            "ReplicationConfiguration": configuration,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    hooks = [
        ("before-parameter-build.s3.GetBucketReplication", remember),
        ("before-call.s3.GetBucketReplication", answer),
    ]
    for event, hook in hooks:
        target.meta.events.register(event, hook)
    try:
        yield
    finally:
        for event, hook in hooks:
            target.meta.events.unregister(event, hook)


def replication_rule(
    index: int,
    bucket: str,
    status: str = "Enabled",
    prefix: str = "artifacts/",
    markers: str = "Enabled",
    rtc: bool = True,
) -> dict[str, Any]:
    """A rule as the stack writes it: artifacts/ only, delete markers, RTC 15 minutes with its metrics."""
    destination: dict[str, Any] = {"Bucket": f"arn:aws:s3:::{bucket}"}
    if rtc:
        destination["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
        destination["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    return {
        "ID": f"to-{bucket}",
        "Priority": index,
        "Status": status,
        "Filter": {"Prefix": prefix},
        "DeleteMarkerReplication": {"Status": markers},
        "Destination": destination,
    }


Inject = Callable[..., None]


@pytest.fixture
def fail(aws: Region) -> Iterator[Inject]:
    """Make one of the handler's own AWS calls fail, the way a real outage would, for this test only.

    `fail("s3", "PutObject", error, when=lambda params: params["Key"] == ...)` raises `error` when the handler
    makes that call; `before` runs first (e.g. to let the write land before the response is "lost", or to
    pause the caller); with `error=None` the call then proceeds normally.
    """
    registered: list[tuple[Any, str, Callable[..., None]]] = []

    def inject(
        service: str,
        operation: str,
        error: Exception | None,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        before: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        target = handler_client(service)
        event = f"before-parameter-build.{target.meta.service_model.service_id.hyphenize()}.{operation}"

        def hook(params: dict[str, Any], **_: Any) -> None:
            if when(params):
                if before is not None:
                    before(params)
                if error is not None:
                    raise error

        target.meta.events.register(event, hook)
        registered.append((target, event, hook))

    yield inject
    for target, event, hook in registered:
        target.meta.events.unregister(event, hook)


def body(response: dict[str, Any]) -> dict[str, Any]:
    """The reply body, after checking the shape every reply shares."""
    assert set(response) == {"statusCode", "body"}
    assert set(response["body"]) == {"action", "outcome", "message", "migration_id", "field", "result"}
    json.dumps(response)  # the reply must be plain JSON for Lambda to return it
    return dict(response["body"])
