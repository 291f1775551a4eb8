"""End to end: a release goes through the deployed migration function, as the deployed function.

The handler runs in-process with the environment the function has in the emulator, and every call it makes
lands on the deployed bucket, parameter, secret and topic; the tests check the bucket and the subscriber,
not only the handler's reply.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tapstack.cli import main
from tapstack.emulator.deploy import invoke_handler
from tests.helpers import emulator_environment
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed

POINTER = "releases/current.json"


def _upload_release(deployed: Deployed, region: str, name: str) -> str:
    """Artifacts and their manifest in the region's deployment bucket; returns the manifest key."""
    s3 = deployed.aws("s3", region)
    bucket = deployed.out(region, "deployment_bucket")
    artifacts = []
    for part in ("app.tar.gz", "config.json"):
        body = f"{name}/{part}".encode()
        key = f"artifacts/{name}/{part}"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        artifacts.append({"key": key, "sha256": hashlib.sha256(body).hexdigest()})
    manifest_key = f"artifacts/manifests/{name}.json"
    manifest = {"release": name, "artifacts": artifacts}
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
    return manifest_key


def _invoke(deployed: Deployed, region: str, **event: Any) -> dict[str, Any]:
    response = invoke_handler(deployed.emulator, deployed.function(region), event).response
    assert isinstance(response["body"], dict)
    return response


def _pointer(deployed: Deployed, region: str) -> dict[str, Any]:
    body = deployed.aws("s3", region).get_object(Bucket=deployed.out(region, "deployment_bucket"), Key=POINTER)
    return dict(json.loads(body["Body"].read()))


def _cli_invoke(deployed: Deployed, capsys: pytest.CaptureFixture[str], action: str, **payload: Any) -> Any:
    """`tapstack invoke`, as a user runs it against the kept emulator, its JSON reply parsed."""
    args = ["invoke", action, "--endpoint", deployed.emulator.url, "--region", PRIMARY]
    with emulator_environment(deployed.emulator):
        code = main([*args, "--payload", json.dumps(payload)])
    reply = json.loads(capsys.readouterr().out)
    assert code == (0 if reply["statusCode"] < 400 else 1)
    return reply


def test_a_release_is_validated_migrated_reported_and_rolled_back(
    deployed: Deployed, unique: str, capsys: pytest.CaptureFixture[str]
) -> None:
    validate = _cli_invoke(deployed, capsys, "validate")
    assert (validate["statusCode"], validate["body"]["outcome"]) == (200, "success")
    checks = {c["name"]: c["ok"] for c in validate["body"]["result"]["checks"]}
    assert checks["replication_to_secondaries"] is True
    assert all(checks.values()), checks

    first, second = f"{unique}-1", f"{unique}-2"
    for release in (first, second):
        migrated = _cli_invoke(
            deployed,
            capsys,
            "migrate",
            migration_id=release,
            manifest_key=_upload_release(deployed, PRIMARY, release),
        )
        assert (migrated["statusCode"], migrated["body"]["outcome"]) == (200, "success"), migrated["body"]
        assert _pointer(deployed, PRIMARY)["release"] == release

    status = _cli_invoke(deployed, capsys, "status", migration_id=second)
    record = status["body"]["result"]["record"]
    assert (record["state"], record["release"], record["previous"]["release"]) == ("succeeded", second, first)

    rolled = _cli_invoke(deployed, capsys, "rollback", migration_id=second)
    assert (rolled["statusCode"], rolled["body"]["outcome"]) == (200, "success"), rolled["body"]
    assert _pointer(deployed, PRIMARY)["release"] == first
    stored = deployed.aws("s3").get_object(
        Bucket=deployed.out(PRIMARY, "deployment_bucket"), Key=f"rollbacks/{second}/rollback.json"
    )
    assert json.loads(stored["Body"].read())["state"] == "succeeded"


def test_each_migration_is_announced_to_subscribers_of_the_deployment_topic(deployed: Deployed, unique: str) -> None:
    sqs, sns = deployed.aws("sqs"), deployed.aws("sns")
    queue_url = sqs.create_queue(QueueName=f"deployments-{unique}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=deployed.out(PRIMARY, "deployment_topic_arn"), Protocol="sqs", Endpoint=queue_arn)

    reply = _invoke(
        deployed,
        PRIMARY,
        action="migrate",
        migration_id=unique,
        manifest_key=_upload_release(deployed, PRIMARY, unique),
    )
    assert reply["body"]["result"]["notification"] == "sent"

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    events = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
    assert [(e["event"], e["migration_id"], e["release"]) for e in events] == [
        ("migration.started", unique, unique),
        ("migration.succeeded", unique, unique),
    ]


def test_the_same_migration_id_twice_promotes_once(deployed: Deployed, unique: str) -> None:
    manifest = _upload_release(deployed, SECONDARY, unique)
    first = _invoke(deployed, SECONDARY, action="migrate", migration_id=unique, manifest_key=manifest)
    assert (first["statusCode"], first["body"]["outcome"]) == (200, "success")
    pointer = _pointer(deployed, SECONDARY)
    s3, bucket = deployed.aws("s3", SECONDARY), deployed.out(SECONDARY, "deployment_bucket")
    versions = s3.list_object_versions(Bucket=bucket, Prefix=POINTER)["Versions"]

    again = _invoke(deployed, SECONDARY, action="migrate", migration_id=unique, manifest_key=manifest)
    assert (again["statusCode"], again["body"]["outcome"]) == (200, "noop")
    assert again["body"]["result"]["notification"] == "not sent (replay)"
    assert _pointer(deployed, SECONDARY) == pointer
    assert s3.list_object_versions(Bucket=bucket, Prefix=POINTER)["Versions"] == versions, "no second write"


def test_a_bad_manifest_is_refused_and_nothing_is_written(deployed: Deployed, unique: str) -> None:
    s3, bucket = deployed.aws("s3"), deployed.out(PRIMARY, "deployment_bucket")
    key = f"artifacts/manifests/{unique}.json"
    s3.put_object(
        Bucket=bucket, Key=key, Body=b'{"release": "r", "artifacts": [{"key": "artifacts/missing", "sha256": "00"}]}'
    )
    reply = _invoke(deployed, PRIMARY, action="migrate", migration_id=unique, manifest_key=key)
    assert (reply["statusCode"], reply["body"]["field"]) == (400, "manifest.artifacts[0].sha256")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"migrations/{unique}/")["KeyCount"] == 0
