"""Benchmark: from migrate to a converged simulated fleet of 1, 3 and 10 instances (and, for 10, a staged release:
one box, then everyone), and the agent's CPU per pass.

One emulator (moto over TLS on loopback, in this process) holds one versioned deployment bucket, the migration
function's configuration, and per fleet size an Auto Scaling group launched from a launch template whose
instance profile names the instance role. For each size, the sample app (``examples/app``, packaged by
``tapstack.release.package``) is uploaded, the migration handler promotes it in-process, and one
``Fleet.converge`` runs the real agent on every instance (in parallel, as timers would); REPEATS releases per
size, medians reported. The agent's CPU per pass is ``time.thread_time`` around ``run_once`` in this thread:
the agent's own work (boto3, sha256, unpacking, the health probe), not moto's or the app's. The floor is
what any install must pay, measured in the same run: start the app and wait for its first healthy answer.

IAM is not enforced here (``enforce_iam=False``): the integration tests prove the role suffices; this
measures the path. On AWS add the timer's period (up to 30 s) to the converge time. Prints JSON on stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tapstack.agent.config import AgentConfig  # noqa: E402  (after the path, so a checkout runs it uninstalled)
from tapstack.agent.cycle import run_once  # noqa: E402
from tapstack.agent.service import ProcessService  # noqa: E402
from tapstack.contract import cohort_score  # noqa: E402
from tapstack.emulator.deploy import invoke_handler  # noqa: E402
from tapstack.emulator.fleet import Fleet, free_port  # noqa: E402
from tapstack.emulator.lambda_invoke import Function  # noqa: E402
from tapstack.emulator.server import Emulator  # noqa: E402
from tapstack.release.package import package_dir  # noqa: E402

REGION = "us-east-1"
CODE = "use1"
BUCKET = "tapstack-deploy-bench-use1"
APP = ROOT / "examples" / "app"
SIZES = (1, 3, 10)
REPEATS = 3
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def platform(emulator: Emulator) -> Function:
    """Bucket, configuration, secret and topic the handler reads; the function as the emulator would hold it."""
    s3 = emulator.client("s3", REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    config = {"project": "tapstack", "environment": "bench", "region": REGION, "primary_region": REGION}
    emulator.client("ssm", REGION).put_parameter(
        Name="/tapstack/bench/config", Value=json.dumps(config), Type="SecureString"
    )
    secret = emulator.client("secretsmanager", REGION).create_secret(Name="bench", SecretString="x")
    topic = emulator.client("sns", REGION).create_topic(Name="tapstack-deployments-bench")
    environment = {
        "TAPSTACK_REGION": REGION,
        "TAPSTACK_DEPLOYMENT_BUCKET": BUCKET,
        "TAPSTACK_CONFIG_PARAMETER": "/tapstack/bench/config",
        "TAPSTACK_SECRET_ARN": secret["ARN"],
        "TAPSTACK_TOPIC_ARN": topic["TopicArn"],
        "TAPSTACK_ROLE": "primary",
        "TAPSTACK_REPLICA_BUCKETS": "[]",
    }
    arn = f"arn:aws:lambda:{REGION}:000000000000:function:bench"
    return Function("bench", arn, REGION, "handler.app.handler", environment)


def group(emulator: Emulator, size: int) -> str:
    """An Auto Scaling group of ``size`` instances whose launch template names the instance profile."""
    iam, ec2 = emulator.client("iam", REGION), emulator.client("ec2", REGION)
    name = f"bench-{size}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.micro",
            "IamInstanceProfile": {"Arn": profile["Arn"]},
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    emulator.client("autoscaling", REGION).create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=size,
        MaxSize=size,
        DesiredCapacity=size,
        VPCZoneIdentifier=subnet,
    )
    return name


def migrate(
    emulator: Emulator, function: Function, version: str, cohort: dict[str, Any] | None = None, mid: str = ""
) -> float:
    """Upload the packaged app, promote it (to ``cohort`` if given); the seconds the migrate took."""
    package = package_dir(APP, version)
    s3 = emulator.client("s3", REGION)
    for obj in package.objects:
        s3.put_object(Bucket=BUCKET, Key=obj.key, Body=obj.body)
    event: dict[str, Any] = {
        "action": "migrate",
        "migration_id": mid or version.replace(".", "_"),
        "manifest_key": package.manifest.key,
        **({"cohort": cohort} if cohort else {}),
    }
    started = time.perf_counter()
    reply = invoke_handler(emulator, function, event).response
    if reply["statusCode"] != 200:
        raise SystemExit(f"migrate {version} failed: {reply['body']}")
    return time.perf_counter() - started


def floor_seconds() -> float:
    """Start the sample app and wait for its first 200 from /healthz: the least an install can cost."""
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        service = ProcessService(Path(work) / "app.log")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        started = time.perf_counter()
        service.restart(APP, ("python3", "app.py"), {"PORT": str(port), "TAPSTACK_RELEASE": "floor"})
        try:
            while True:
                try:
                    with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        return time.perf_counter() - started
                except OSError:
                    time.sleep(0.01)
        finally:
            service.stop()


def converged(fleet: Fleet, version: str, size: int) -> float:
    started = time.perf_counter()
    beats = fleet.converge(REGION)
    elapsed = time.perf_counter() - started
    if len(beats) != size or any((b.release, b.health) != (version, "healthy") for b in beats):
        raise SystemExit(f"fleet of {size} did not converge on {version}: {[b.to_json() for b in beats]}")
    return elapsed


def agent_cpu(fleet: Fleet, emulator: Emulator, function: Function) -> dict[str, float]:
    """CPU seconds of one agent pass in this thread: installing a new release, and a steady-state pass."""
    member = next(iter(fleet.instances[REGION].values()))
    assert member.clients is not None
    config = AgentConfig(region=REGION, bucket=BUCKET, root=member.root, port=member.port)
    migrate(emulator, function, "cpu-1.0")
    cpu = {}
    for label in ("install_pass_cpu_ms", "steady_pass_cpu_ms"):
        started = time.thread_time()
        beat = run_once(config, *member.clients, member.service)
        cpu[label] = round((time.thread_time() - started) * 1000, 1)
        assert beat.health == "healthy", beat
    return cpu


def staged(fleet: Fleet, emulator: Emulator, function: Function, size: int) -> dict[str, Any]:
    """One box, then everyone, of a new release on a fleet of ``size``: migrate to converged, both stages."""
    version = f"staged-{size}"
    ids = list(fleet.instances[REGION])
    first = min(ids, key=lambda i: cohort_score(i, version))
    cohort = {"stage": "one_box", "percent": round(100 / size, 2), "bound": cohort_score(first, version) + 1}
    started = time.perf_counter()
    migrate(emulator, function, version, cohort, mid=f"staged_{size}_s1")
    beats = fleet.converge(REGION)
    on = sorted(b.instance_id for b in beats if b.release == version and b.health == "healthy")
    if on != [first]:
        raise SystemExit(f"one box of {size}: {on} serve {version}, expected [{first}]")
    one_box = time.perf_counter() - started
    migrate(emulator, function, version, None, mid=f"staged_{size}_s2")
    converged(fleet, version, size)
    return {"instances": size, "one_box_seconds": round(one_box, 3), "staged_seconds": time.perf_counter() - started}


def main() -> None:
    results: dict[str, Any] = {"what": "migrate -> converged simulated fleet (examples/app)", "repeats": REPEATS}
    floor = statistics.median(floor_seconds() for _ in range(REPEATS))
    results["floor_app_start_ms"] = round(floor * 1000, 1)
    runs = []
    with Emulator.start() as emulator, contextlib.redirect_stdout(io.StringIO()):  # the handler's log lines
        function = platform(emulator)
        for size in SIZES:
            name = group(emulator, size)
            outputs = {"regions": [REGION], f"{CODE}_asg_name": name, f"{CODE}_deployment_bucket": BUCKET}
            with Fleet.start(emulator, outputs, enforce_iam=False) as fleet:
                migrations, converges = [], []
                for repeat in range(REPEATS):
                    version = f"{size}.{repeat}"
                    migrations.append(migrate(emulator, function, version))
                    converges.append(converged(fleet, version, size))
                steady = converged(fleet, f"{size}.{REPEATS - 1}", size)
                row: dict[str, Any] = {
                    "instances": size,
                    "migrate_ms_median": round(statistics.median(migrations) * 1000, 1),
                    "converge_ms_median": round(statistics.median(converges) * 1000, 1),
                    "migrate_to_converged_ms_median": round(
                        statistics.median(m + c for m, c in zip(migrations, converges, strict=True)) * 1000, 1
                    ),
                    "steady_pass_ms": round(steady * 1000, 1),
                    "converge_to_floor_ratio": round(statistics.median(converges) / floor, 2),
                }
                if size == SIZES[0]:
                    results["agent_cpu"] = agent_cpu(fleet, emulator, function)
                if size == SIZES[-1]:
                    row["staged"] = staged(fleet, emulator, function, size)
                    row["staged"]["staged_to_floor_ratio"] = round(row["staged"]["staged_seconds"] / floor, 2)
                    row["staged"]["staged_seconds"] = round(row["staged"]["staged_seconds"], 3)
                runs.append(row)
            emulator.client("autoscaling", REGION).delete_auto_scaling_group(
                AutoScalingGroupName=name, ForceDelete=True
            )
    results["fleet"] = runs
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
