"""A three-region TapStack migration platform in in-process moto, released through the real-AWS target.

``AwsTarget`` runs exactly as against AWS: boto3 clients from a session, ``lambda:Invoke`` on the function
names of the outputs. Two things moto cannot do are supplied here, the way AWS does them:
- the Invoke runs the real migration handler in-process with the function's environment (a botocore hook
  that answers the request, so the client, the payload and FunctionError handling are the real ones);
- the instance agents act when time passes: the fake clock's ``sleep`` runs one agent pass per instance,
  which writes the heartbeat a real agent would.
S3 replication is the emulator's (``moto_fidelity``): it copies ``artifacts/`` to the secondaries and reports
PENDING / COMPLETED as S3 does; ``hold_replication`` stops it for the timeout tests.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tapstack.contract import followed
from tapstack.emulator import moto_fidelity, replication
from tapstack.handler.app import handle
from tapstack.release.interrupts import shielded
from tapstack.release.outputs import StackOutputs
from tapstack.release.target import AwsTarget
from tapstack.runtime import Runtime
from tests.helpers import aws_session, mocked_aws

PRIMARY = "us-east-1"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
CODES = {"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}
POINTER = "releases/current.json"
HEARTBEATS = "fleet/heartbeats/"
IMAGE = "ami-12c6146b"
"""One of the AMIs moto knows in every region (listing them costs seconds)."""
ROOT = Path(__file__).resolve().parents[2]
_WORLD_LOCK = threading.Lock()
"""One invocation at a time acts on the world (its hooks and simulated agents), as parallel waves call from threads."""


class FakeClock:
    """Virtual time: ``sleep`` advances it and lets the world act (replication, agents, test triggers)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.base = datetime.now(UTC)
        self.on_sleep: list[Callable[[], None]] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        _settled()  # the emulator's replication runs in a real thread: what is due lands before time moves on
        for action in list(self.on_sleep):
            action()


def _settled(**_: object) -> None:
    """Wait until every due replication has landed, so that a run reads the same replication state whatever the
    machine's load; also a before-call handler, so it returns None (an answer would stand in for S3's)."""
    assert replication.settle(), "the emulator's replication did not settle within 10 s"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body.read()

    def read(self, *_: Any) -> bytes:
        return self._body.read()


@dataclass
class LambdaContext:
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class World:
    """The deployed stack, its clients, and the knobs tests turn (broken releases, replication, alarms)."""

    tag: str
    clock: FakeClock
    session: boto3.session.Session
    outputs: dict[str, Any]
    functions: dict[str, dict[str, str]]
    """function name -> its environment, as Lambda holds it."""
    broken: set[str] = field(default_factory=set)
    """Releases whose health check fails on every instance."""
    running: dict[str, str | None] = field(default_factory=dict)
    """instance id -> release it serves."""
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lambda_answers: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    """function name -> (headers, payload) Lambda answers instead of running the handler (timeouts, crashes)."""
    while_running: Callable[[dict[str, Any]], None] | None = None
    """Called with the event while the function runs (a test sends a signal there: the call is in flight)."""
    agents_after_invoke: bool = False
    """Agents act right after each function call (a fleet that follows at once: fewer polls per release)."""
    tried: dict[str, set[str]] = field(default_factory=dict)
    """release -> every instance that ever installed (or tried to install) it."""

    def out(self, region: str, key: str) -> Any:
        return self.outputs[f"{CODES[region]}_{key}"]

    def client(self, service: str, region: str = PRIMARY) -> Any:
        """The world's clients, with moto's credentials: the agents' passes call these hundreds of times."""
        return _client(service, region)

    def target(self) -> AwsTarget:
        return AwsTarget(StackOutputs.parse(self.outputs, "outputs.json"), self.session)

    def pointer(self, region: str) -> dict[str, Any] | None:
        try:
            body = self.client("s3", region).get_object(Bucket=self.out(region, "deployment_bucket"), Key=POINTER)
        except self.client("s3", region).exceptions.NoSuchKey:
            return None
        return dict(json.loads(body["Body"].read()))

    def release_of(self, region: str) -> str | None:
        pointer = self.pointer(region)
        return None if pointer is None else str(pointer["release"])

    def alarm(self, region: str, key: str) -> str:
        return f"tapstack-{key}-{CODES[region]}-{self.tag}"

    def set_alarm(self, region: str, key: str, state: str) -> None:
        self.client("cloudwatch", region).set_alarm_state(
            AlarmName=self.alarm(region, key), StateValue=state, StateReason=f"test set {state}"
        )

    # -- what AWS does while time passes ------------------------------------------------------------------

    def run_agents(self) -> None:
        for region in self.outputs["regions"]:
            pointer = self.pointer(region)
            bucket = self.out(region, "deployment_bucket")
            for instance in _in_service(region, self.out(region, "asg_name")):
                serving = self.running.get(instance)
                health, reason = "healthy", ""
                release = followed(pointer, instance).get("release") if pointer else None  # the agent's own rule
                if release != serving and release is not None:
                    self.tried.setdefault(release, set()).add(instance)
                    if release in self.broken:
                        health, reason = "unhealthy", f"release {release}: GET /healthz answered 500; reverted"
                    else:
                        serving = self.running[instance] = release
                beat = {
                    "instance_id": instance,
                    "release": serving,
                    "health": health if serving or health == "unhealthy" else "none",
                    "reason": reason,
                    "previous_release": None,
                    "timestamp": self.clock.now().isoformat(),
                    "agent": "tapstack-agent/1",
                }
                self.client("s3", region).put_object(
                    Bucket=bucket, Key=f"{HEARTBEATS}AROATEST:{instance}.json", Body=json.dumps(beat).encode()
                )

    # -- the Lambda service --------------------------------------------------------------------------------

    def invoke(self, request: Any, **_: Any) -> AWSResponse:
        match = re.search(r"/functions/([^/]+)/invocations", request.url)
        name = match.group(1) if match else ""
        if name not in self.functions:
            body = json.dumps({"Type": "User", "Message": f"Function not found: {name}"}).encode()
            headers = {"x-amzn-ErrorType": "ResourceNotFoundException", "Content-Type": "application/json"}
            return AWSResponse(request.url, 404, headers, _Raw(body))
        event = json.loads(request.body)
        self.invocations.append((name, event))
        if name in self.lambda_answers:
            headers, raw = self.lambda_answers[name]
            return AWSResponse(request.url, 200, {"Content-Type": "application/json", **headers}, _Raw(raw))
        # On AWS the function runs to its end whatever the caller does: a signal lands after it, on the answer.
        variables = {**self.functions[name], "AWS_REGION": self.functions[name]["TAPSTACK_REGION"]}
        runtime = Runtime(variables, _clients_session(), lambda _line: None)  # its logs go to CloudWatch
        with shielded(), _WORLD_LOCK:
            if self.while_running is not None:
                self.while_running(event)
            reply = handle(event, LambdaContext(), runtime)
            if self.agents_after_invoke:
                self.run_agents()
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _Raw(json.dumps(reply).encode()))


def _in_service(region: str, group: str) -> list[str]:
    """The group's InService instance ids, read from moto's model: what each simulated agent stands for, not a call
    under test (DescribeAutoScalingGroups through boto3 on every virtual second was a tenth of these tests' time)."""
    from moto.autoscaling.models import autoscaling_backends

    states = autoscaling_backends[ACCOUNT][region].autoscaling_groups[group].instance_states
    return [state.instance.id for state in states if state.lifecycle_state == "InService"]


@functools.cache
def _client(service: str, region: str) -> Any:
    """One client per service and region for the test process. moto intercepts every client's requests
    whichever mock made it (its handler is built into botocore), and each world's names are its own, so a
    world needs no clients of its own; making ~40 per world was an eighth of these tests' time."""
    return _clients_session().client(service, region_name=region)


@functools.cache
def _clients_session() -> boto3.session.Session:
    return aws_session(aws_access_key_id="testing", aws_secret_access_key="testing")


def _region(
    world_tag: str, region: str, primary_bucket: str | None, replicas: list[str], instances: int = 2
) -> tuple[dict[str, Any], dict[str, str]]:
    code = CODES[region]
    name = f"tapstack-deploy-dev-{code}-{world_tag}"
    s3 = _client("s3", region)
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kwargs)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    config = {"project": "tapstack", "environment": "dev", "region": region, "primary_region": PRIMARY}
    parameter = f"/tapstack/dev/{code}/migration-config-{world_tag}"
    _client("ssm", region).put_parameter(Name=parameter, Value=json.dumps(config), Type="SecureString")
    secret = _client("secretsmanager", region).create_secret(
        Name=f"tapstack-token-{code}-{world_tag}", SecretString="tok-never-shown"
    )["ARN"]
    sns = _client("sns", region)
    deploy_topic = sns.create_topic(Name=f"tapstack-deployments-{code}-{world_tag}")["TopicArn"]
    alarm_topic = sns.create_topic(Name=f"tapstack-alarms-{code}-{world_tag}")["TopicArn"]
    ec2 = _client("ec2", region)
    template = f"tapstack-app-{code}-{world_tag}"
    ec2.create_launch_template(LaunchTemplateName=template, LaunchTemplateData={"ImageId": IMAGE})
    asg = f"tapstack-app-{code}-{world_tag}"
    _client("autoscaling", region).create_auto_scaling_group(
        AutoScalingGroupName=asg,
        LaunchTemplate={"LaunchTemplateName": template},
        MinSize=instances,
        MaxSize=instances,
        DesiredCapacity=instances,
        AvailabilityZones=[f"{region}a"],
    )
    cloudwatch = _client("cloudwatch", region)
    for key in ("lambda-errors", "in-service-low"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"tapstack-{key}-{code}-{world_tag}",
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[alarm_topic],
            OKActions=[alarm_topic],
        )
    function = f"tapstack-migration-{code}-{world_tag}"
    environment = {
        "TAPSTACK_REGION": region,
        "TAPSTACK_DEPLOYMENT_BUCKET": name,
        "TAPSTACK_CONFIG_PARAMETER": parameter,
        "TAPSTACK_SECRET_ARN": secret,
        "TAPSTACK_TOPIC_ARN": deploy_topic,
        "TAPSTACK_ROLE": "primary" if primary_bucket is None else "secondary",
        "TAPSTACK_REPLICA_BUCKETS": json.dumps(replicas if primary_bucket is None else []),
        "TAPSTACK_ASG_NAME": asg,
        "TAPSTACK_FLEET_GRACE_SECONDS": "300",
    }
    outputs = {
        f"{code}_deployment_bucket": name,
        f"{code}_function_name": function,
        f"{code}_alarm_topic_arn": alarm_topic,
        f"{code}_asg_name": asg,
    }
    return outputs, {function: environment}


@pytest.fixture(scope="module")
def moto_world() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k == "AWS_CA_BUNDLE"]:
            patch.delenv(name)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(key, "testing")
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        moto_fidelity.install()
        with mocked_aws():
            yield


ACCOUNT = "123456789012"
"""moto's account in-process."""


@pytest.fixture
def hold_replication(moto_world: None) -> Iterator[None]:
    replication.set_delay(ACCOUNT, 3600)
    yield
    replication.set_delay(ACCOUNT, 0)


def _replication_role(tag: str, source: str, replicas: list[str]) -> str:
    """A role S3 may assume to replicate ``source`` to ``replicas`` (the emulator replicates as that role)."""
    iam = _client("iam", PRIMARY)
    trust = {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    name = f"tapstack-replication-dev-{tag}"
    arn = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObjectVersionForReplication", "Resource": f"arn:aws:s3:::{source}/*"},
        {"Effect": "Allow", "Action": "s3:ReplicateObject", "Resource": [f"arn:aws:s3:::{r}/*" for r in replicas]},
    ]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="replicate",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return str(arn)


def make_world(regions: tuple[str, ...] = REGIONS, instances: int = 2) -> World:
    """A deployed stack in moto: ``regions`` (the first is the primary), ``instances`` per region's group."""
    tag = uuid.uuid4().hex[:8]
    replicas = [f"tapstack-deploy-dev-{CODES[r]}-{tag}" for r in regions[1:]]
    outputs: dict[str, Any] = {"primary_region": regions[0], "regions": list(regions)}
    functions: dict[str, dict[str, str]] = {}
    for region in regions:
        out, fn = _region(tag, region, None if region == regions[0] else "primary", replicas, instances)
        outputs.update(out)
        functions.update(fn)
    primary_bucket = outputs[f"{CODES[regions[0]]}_deployment_bucket"]
    _client("s3", regions[0]).put_bucket_replication(
        Bucket=primary_bucket,
        ReplicationConfiguration={
            "Role": _replication_role(tag, primary_bucket, replicas),
            "Rules": [
                {
                    "ID": f"to-{bucket}",
                    "Priority": index,
                    "Status": "Enabled",
                    "Filter": {"Prefix": "artifacts/"},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {
                        "Bucket": f"arn:aws:s3:::{bucket}",
                        "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                        "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                    },
                }
                for index, bucket in enumerate(replicas)
            ],
        },
    )
    clock = FakeClock()
    session = aws_session(region_name=regions[0])
    world = World(tag, clock, session, outputs, functions)
    session.events.register_first("before-send.lambda.Invoke", world.invoke)
    # A replication status read right after an upload sees the same thing on every run (a fault-injection point
    # recorded at the third HeadObject poll must exist when it is failed).
    session.events.register("before-call.s3.HeadObject", _settled)
    clock.on_sleep.append(world.run_agents)
    return world


@pytest.fixture
def world(moto_world: None) -> World:
    return make_world()


def write_app(directory: Path, body: str = "print('hello')\n", port: int = 8080) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(body)
    (directory / "tapstack-app.toml").write_text(
        f'start = ["python3", "app.py"]\n\n[health]\npath = "/healthz"\nport = {port}\ntimeout_seconds = 5\n'
    )
    return directory
