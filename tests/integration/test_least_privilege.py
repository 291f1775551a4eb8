"""Cross-service: least privilege shown by execution, with the emulator evaluating IAM for every request.

The roles are assumed first, as EC2 and Lambda would assume them (their trust policies name those services,
not us), then IAM enforcement is switched on: from there every call is allowed or refused by the role's own
policies, and each allowed call is shown next to its refused neighbours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tapstack.emulator.server import Emulator
from tapstack.emulator.sessions import client as emulator_client
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed

ClientFor = Callable[[str, str], Any]


def _assume(deployed: Deployed, role_arn: str, session: str = "least-privilege") -> ClientFor:
    """Clients acting as a session of the role; EC2 names an instance role's session after the instance."""
    credentials = deployed.aws("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    emulator = deployed.emulator

    def client(service: str, region: str) -> Any:
        return emulator_client(service, region, emulator.url, emulator.ca_bundle, config, credentials)

    return client


INSTANCES = ("i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2")


@dataclass
class Enforced:
    roles: dict[str, ClientFor]
    """Clients acting as the primary region's instance role and migration role."""
    instances: dict[str, ClientFor]
    """Clients acting as the instance role on two instances (sessions named after them, as on EC2)."""
    environments: dict[str, dict[str, str]]
    """Each region's function environment, read before enforcement (our own calls are refused after)."""
    release: dict[str, str]
    """What a release left in the primary deployment bucket before enforcement: keys and a version id."""


@pytest.fixture
def enforced(deployed: Deployed, unique: str) -> Iterator[Enforced]:
    """The deployed roles, with IAM enforced until the test ends; a release's objects written beforehand."""
    bucket = deployed.out(PRIMARY, "deployment_bucket")
    s3 = deployed.aws("s3")
    manifest = f"artifacts/lp-{unique}/manifest.json"
    version = s3.put_object(Bucket=bucket, Key=manifest, Body=b'{"release": "lp"}')["VersionId"]
    heartbeat = f"fleet/heartbeats/AROAOTHERROLE00000000:i-0ccccccccccccccc3-{unique}.json"
    s3.put_object(Bucket=bucket, Key=heartbeat, Body=b"{}")
    roles = {key: _assume(deployed, deployed.out(PRIMARY, key)) for key in ("instance_role_arn", "migration_role_arn")}
    instances = {i: _assume(deployed, deployed.out(PRIMARY, "instance_role_arn"), i) for i in INSTANCES}
    environments = {region: deployed.function(region).environment for region in (PRIMARY, SECONDARY)}
    deployed.emulator.enforce_iam(True)
    try:
        yield Enforced(
            roles, instances, environments, {"manifest": manifest, "version": version, "heartbeat": heartbeat}
        )
    finally:
        deployed.emulator.enforce_iam(False)


def _denied(call: Callable[[], Any]) -> str:
    """The error code of a call refused with 403 (moto answers JSON-protocol services in XML: code "403")."""
    with pytest.raises(ClientError) as refused:
        call()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(refused.value.response["Error"]["Code"])


def test_the_instance_role_reads_and_writes_its_data_bucket_and_nothing_else(
    deployed: Deployed, enforced: Enforced, unique: str
) -> None:
    s3 = enforced.roles["instance_role_arn"]("s3", PRIMARY)
    data = deployed.out(PRIMARY, "data_bucket")
    s3.put_object(Bucket=data, Key=f"app/{unique}.txt", Body=b"payload")
    assert s3.get_object(Bucket=data, Key=f"app/{unique}.txt")["Body"].read() == b"payload"
    for neighbour in ("deployment_bucket", "log_bucket"):
        bucket = deployed.out(PRIMARY, neighbour)
        assert _denied(partial(s3.put_object, Bucket=bucket, Key=f"{unique}.txt", Body=b"x")) == "AccessDenied"
    other_region = enforced.roles["instance_role_arn"]("s3", SECONDARY)
    other = deployed.out(SECONDARY, "data_bucket")
    assert _denied(lambda: other_region.put_object(Bucket=other, Key=f"{unique}.txt", Body=b"x")) == "AccessDenied"
    assert _denied(lambda: other_region.get_object(Bucket=other, Key=f"{unique}.txt")) == "AccessDenied"


def test_the_migration_role_reads_its_own_parameter_and_secret_not_another_regions(
    deployed: Deployed, enforced: Enforced
) -> None:
    lambda_role = enforced.roles["migration_role_arn"]
    name, other = deployed.out(PRIMARY, "config_parameter"), deployed.out(SECONDARY, "config_parameter")
    own = lambda_role("ssm", PRIMARY).get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert json.loads(own["Value"])["region"] == PRIMARY
    other_ssm = lambda_role("ssm", SECONDARY)
    _denied(lambda: other_ssm.get_parameter(Name=other, WithDecryption=True))
    own_ssm = lambda_role("ssm", PRIMARY)
    _denied(lambda: own_ssm.put_parameter(Name=name, Value="{}", Overwrite=True))

    own_secret = enforced.environments[PRIMARY]["TAPSTACK_SECRET_ARN"]
    other_secret = enforced.environments[SECONDARY]["TAPSTACK_SECRET_ARN"]
    assert lambda_role("secretsmanager", PRIMARY).get_secret_value(SecretId=own_secret)["SecretString"]
    other_secrets = lambda_role("secretsmanager", SECONDARY)
    _denied(lambda: other_secrets.get_secret_value(SecretId=other_secret))


def test_the_migration_role_writes_only_its_regions_deployment_bucket(
    deployed: Deployed, enforced: Enforced, unique: str
) -> None:
    lambda_role = enforced.roles["migration_role_arn"]
    s3 = lambda_role("s3", PRIMARY)
    own = deployed.out(PRIMARY, "deployment_bucket")
    s3.put_object(Bucket=own, Key=f"migrations/{unique}/probe.json", Body=b"{}")
    assert s3.get_object(Bucket=own, Key=f"migrations/{unique}/probe.json")["Body"].read() == b"{}"
    data = deployed.out(PRIMARY, "data_bucket")
    assert _denied(lambda: s3.put_object(Bucket=data, Key=f"{unique}.json", Body=b"{}")) == "AccessDenied"
    secondary = lambda_role("s3", SECONDARY)
    replica = deployed.out(SECONDARY, "deployment_bucket")
    assert _denied(lambda: secondary.put_object(Bucket=replica, Key=f"{unique}.json", Body=b"{}")) == "AccessDenied"


def test_the_primary_replicates_to_every_secondary_with_rtc_through_its_scoped_role(
    deployed: Deployed,
) -> None:
    primary = deployed.out(PRIMARY, "deployment_bucket")
    replica = deployed.out(SECONDARY, "deployment_bucket")
    config = deployed.aws("s3").get_bucket_replication(Bucket=primary)["ReplicationConfiguration"]
    assert config["Role"] == deployed.outputs["replication_role_arn"]
    (rule,) = config["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    destination = rule["Destination"]
    assert destination["Bucket"] == f"arn:aws:s3:::{replica}"
    assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == deployed.out(SECONDARY, "kms_key_arn")
    for bucket, region in ((primary, PRIMARY), (replica, SECONDARY)):
        assert deployed.aws("s3", region).get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    iam = deployed.aws("iam")
    role_name = config["Role"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "s3.amazonaws.com"}]
    statements = [
        s
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        for s in iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]
    ]
    replicate = [s for s in statements if "s3:ReplicateObject" in s["Action"]]
    assert [s["Resource"] for s in replicate] == [[f"arn:aws:s3:::{replica}/*"]]


def test_plain_http_requests_are_refused_by_the_tls_only_bucket_policies(deployed: Deployed, unique: str) -> None:
    bucket = deployed.out(PRIMARY, "deployment_bucket")
    with Emulator.start(tls=False) as plain:  # moto's state is per process: the same buckets, without TLS
        s3 = boto3.client(
            "s3",
            region_name=PRIMARY,
            endpoint_url=plain.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        # Act in the deployed account, not in the plain emulator's own.
        account = str(deployed.emulator.account_id)
        s3.meta.events.register(
            "before-sign.s3", lambda request, **_: request.headers.add_header("x-moto-account-id", account)
        )
        _denied(lambda: s3.put_object(Bucket=bucket, Key=f"{unique}.txt", Body=b"x"))
    # The same request over TLS is allowed.
    deployed.aws("s3").put_object(Bucket=bucket, Key=f"{unique}.txt", Body=b"x")


def test_the_migration_role_writes_its_control_prefixes_and_never_a_release(
    deployed: Deployed, enforced: Enforced, unique: str
) -> None:
    """``artifacts/`` replicates to every region: a function that could write there could replace a release."""
    s3 = enforced.roles["migration_role_arn"]("s3", PRIMARY)
    bucket = deployed.out(PRIMARY, "deployment_bucket")
    for prefix in ("releases/", "migrations/", "rollbacks/", "locks/"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}probe-{unique}.json", Body=b"{}")
    manifest = enforced.release["manifest"]
    assert s3.get_object(Bucket=bucket, Key=manifest)["Body"].read() == b'{"release": "lp"}'
    assert s3.get_object(Bucket=bucket, Key=manifest, VersionId=enforced.release["version"])["VersionId"]
    assert s3.get_object(Bucket=bucket, Key=enforced.release["heartbeat"])["Body"].read() == b"{}"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="fleet/heartbeats/")["KeyCount"] >= 1
    refused = {
        "new artifact": partial(s3.put_object, Bucket=bucket, Key=f"artifacts/lp-{unique}/app.tar.gz", Body=b"x"),
        "overwritten manifest": partial(s3.put_object, Bucket=bucket, Key=manifest, Body=b"{}"),
        "deleted manifest": partial(s3.delete_object, Bucket=bucket, Key=manifest),
        "deleted manifest version": partial(
            s3.delete_object, Bucket=bucket, Key=manifest, VersionId=enforced.release["version"]
        ),
        "deleted own record": partial(s3.delete_object, Bucket=bucket, Key=f"migrations/probe-{unique}.json"),
        "deleted lock": partial(s3.delete_object, Bucket=bucket, Key=f"locks/probe-{unique}.json"),
        "heartbeat": partial(s3.put_object, Bucket=bucket, Key=f"fleet/heartbeats/{unique}.json", Body=b"{}"),
        "another prefix": partial(s3.put_object, Bucket=bucket, Key=f"probe/{unique}.json", Body=b"{}"),
    }
    assert {what: _denied(call) for what, call in refused.items()} == {what: "AccessDenied" for what in refused}


def test_the_migration_role_reads_its_regions_fleet(deployed: Deployed, enforced: Enforced) -> None:
    asg = enforced.environments[PRIMARY]["TAPSTACK_ASG_NAME"]
    assert asg == deployed.out(PRIMARY, "asg_name")
    autoscaling = enforced.roles["migration_role_arn"]("autoscaling", PRIMARY)
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg])["AutoScalingGroups"]
    assert group["AutoScalingGroupName"] == asg
    ids = [i["InstanceId"] for i in group["Instances"]]
    ec2 = enforced.roles["migration_role_arn"]("ec2", PRIMARY)
    launched = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert sorted(i["InstanceId"] for i in launched) == sorted(ids) and ids
    assert int(enforced.environments[PRIMARY]["TAPSTACK_FLEET_GRACE_SECONDS"]) > 0
    instance = enforced.roles["instance_role_arn"]("autoscaling", PRIMARY)
    _denied(lambda: instance.describe_auto_scaling_groups(AutoScalingGroupNames=[asg]))


def test_each_instance_writes_exactly_its_own_heartbeat(deployed: Deployed, enforced: Enforced) -> None:
    bucket = deployed.out(PRIMARY, "deployment_bucket")
    first, second = (enforced.instances[i] for i in INSTANCES)
    ids = {i: enforced.instances[i]("sts", PRIMARY).get_caller_identity()["UserId"] for i in INSTANCES}
    assert all(user_id.startswith("AROA") and user_id.endswith(":" + i) for i, user_id in ids.items())
    own, other = (f"fleet/heartbeats/{ids[i]}.json" for i in INSTANCES)
    first("s3", PRIMARY).put_object(Bucket=bucket, Key=own, Body=b'{"health": "healthy"}')
    first("s3", PRIMARY).put_object(Bucket=bucket, Key=own, Body=b'{"health": "unhealthy"}')  # every cycle
    second("s3", PRIMARY).put_object(Bucket=bucket, Key=other, Body=b'{"health": "healthy"}')
    assert _denied(lambda: first("s3", PRIMARY).put_object(Bucket=bucket, Key=other, Body=b"{}")) == "AccessDenied"
    assert _denied(lambda: second("s3", PRIMARY).put_object(Bucket=bucket, Key=own, Body=b"{}")) == "AccessDenied"
    assert _denied(lambda: first("s3", PRIMARY).delete_object(Bucket=bucket, Key=own)) == "AccessDenied"
    forged = f"fleet/heartbeats/{ids[INSTANCES[0]]}.json.extra"
    assert _denied(lambda: first("s3", PRIMARY).put_object(Bucket=bucket, Key=forged, Body=b"{}")) == "AccessDenied"


def test_the_instance_role_reads_the_release_and_nothing_else_of_the_deployment_bucket(
    deployed: Deployed, enforced: Enforced, unique: str
) -> None:
    s3 = enforced.instances[INSTANCES[0]]("s3", PRIMARY)
    bucket = deployed.out(PRIMARY, "deployment_bucket")
    manifest, version = enforced.release["manifest"], enforced.release["version"]
    assert s3.get_object(Bucket=bucket, Key=manifest, VersionId=version)["Body"].read() == b'{"release": "lp"}'
    try:  # the pointer exists once a migration ran; either way the instance may read it
        s3.get_object(Bucket=bucket, Key="releases/current.json")
    except ClientError as missing:
        assert missing.response["Error"]["Code"] == "NoSuchKey"
    # Listing exactly the pointer's key is what lets S3 answer 404 rather than 403 before the first release.
    s3.list_objects_v2(Bucket=bucket, Prefix="releases/current.json")
    refused = {
        "a listing of artifacts/": partial(s3.list_objects_v2, Bucket=bucket, Prefix="artifacts/"),
        "a listing of heartbeats": partial(s3.list_objects_v2, Bucket=bucket, Prefix="fleet/heartbeats/"),
        "another instance's heartbeat": partial(s3.get_object, Bucket=bucket, Key=enforced.release["heartbeat"]),
        "the lock": partial(s3.get_object, Bucket=bucket, Key="locks/release-pointer.json"),
        "a migration record": partial(s3.get_object, Bucket=bucket, Key=f"migrations/{unique}/metadata.json"),
        "the listing": partial(s3.list_objects_v2, Bucket=bucket),
        "a new pointer": partial(s3.put_object, Bucket=bucket, Key="releases/current.json", Body=b"{}"),
        "a replaced artifact": partial(s3.put_object, Bucket=bucket, Key=manifest, Body=b"{}"),
        "a deleted artifact": partial(s3.delete_object, Bucket=bucket, Key=manifest),
        "a deleted artifact version": partial(s3.delete_object, Bucket=bucket, Key=manifest, VersionId=version),
        "a rollback record": partial(s3.put_object, Bucket=bucket, Key=f"rollbacks/{unique}.json", Body=b"{}"),
    }
    assert {what: _denied(call) for what, call in refused.items()} == {what: "AccessDenied" for what in refused}
    other_region = enforced.instances[INSTANCES[0]]("s3", SECONDARY)
    replica = deployed.out(SECONDARY, "deployment_bucket")
    user_id = enforced.instances[INSTANCES[0]]("sts", PRIMARY).get_caller_identity()["UserId"]
    elsewhere = {
        "the other region's release": partial(other_region.get_object, Bucket=replica, Key=manifest),
        "the other region's heartbeat": partial(
            other_region.put_object, Bucket=replica, Key=f"fleet/heartbeats/{user_id}.json", Body=b"{}"
        ),
    }
    assert {what: _denied(call) for what, call in elsewhere.items()} == {what: "AccessDenied" for what in elsewhere}
