"""The simulated fleet: the real agent on every instance the emulator's groups launched, as that instance's
role with IAM enforced, its application a real process on loopback.

A release is what ``tapstack release`` uploads (``tapstack.release.package`` packs the sample app and its
``tapstack-app.toml``) followed by the deployed migration function's ``migrate``, run in-process as the
deployed function; one ``converge`` is one timer tick on every instance. Versions are unique per test, so
tests do not depend on each other's order; the scale-out test restores the group's capacity.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.deploy import invoke_handler
from tapstack.emulator.fleet import Fleet
from tapstack.emulator.instance_refresh import Preferences, refresh
from tapstack.release.package import package_dir
from tests.helpers import EXAMPLES
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed

REGIONS = (PRIMARY, SECONDARY)
APP, BROKEN = EXAMPLES / "app", EXAMPLES / "app-broken"


@pytest.fixture(scope="module")
def fleet(deployed: Deployed) -> Iterator[Fleet]:
    with Fleet.start(deployed.emulator, deployed.outputs, enforce_iam=True) as simulated:
        yield simulated


def _migration_id(version: str) -> str:
    return "mig-" + version.replace(".", "_")


def _release(deployed: Deployed, region: str, version: str, app: Any = APP) -> dict[str, Any]:
    """Upload the packaged app to the region's bucket and migrate to it; the pointer the function wrote."""
    package = package_dir(app, version)
    s3, bucket = deployed.aws("s3", region), deployed.out(region, "deployment_bucket")
    for obj in package.objects:
        s3.put_object(Bucket=bucket, Key=obj.key, Body=obj.body)
    event = {"action": "migrate", "migration_id": _migration_id(version), "manifest_key": package.manifest.key}
    reply = invoke_handler(deployed.emulator, deployed.function(region), event).response
    assert reply["statusCode"] == 200, reply["body"]
    pointer = s3.get_object(Bucket=bucket, Key="releases/current.json")["Body"].read()
    return dict(json.loads(pointer))


def _rollback(deployed: Deployed, region: str, version: str) -> None:
    event = {"action": "rollback", "migration_id": _migration_id(version)}
    reply = invoke_handler(deployed.emulator, deployed.function(region), event).response
    assert reply["statusCode"] == 200, reply["body"]


def _serving(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/healthz", timeout=5) as reply:
        return str(json.loads(reply.read())["release"])


def _user_id(deployed: Deployed, region: str, role_arn: str, instance_id: str) -> str:
    """``aws:userid`` of the instance's role session: ``<role id>:<instance id>``."""
    role = deployed.aws("iam", region).get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    return f"{role['RoleId']}:{instance_id}"


def _stored_heartbeat(deployed: Deployed, region: str, user_id: str) -> dict[str, Any]:
    body = deployed.aws("s3", region).get_object(
        Bucket=deployed.out(region, "deployment_bucket"), Key=f"fleet/heartbeats/{user_id}.json"
    )["Body"]
    return dict(json.loads(body.read()))


def test_every_instance_in_every_region_serves_a_migrated_release(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    version = f"{unique}-1.0.0"
    for region in REGIONS:
        pointer = _release(deployed, region, version)
        assert pointer["artifacts"][0]["version_id"], "the function pins what it verified"
        beats = fleet.converge(region)
        assert beats and {(b.release, b.health, b.reason) for b in beats} == {(version, "healthy", "")}
        for member in fleet.instances[region].values():
            assert _serving(member.url) == version
            role_id = (
                member.role_arn
                and deployed.aws("iam", region).get_role(RoleName=member.role_arn.rsplit("/", 1)[-1])["Role"]["RoleId"]
            )
            stored = _stored_heartbeat(deployed, region, f"{role_id}:{member.instance_id}")
            assert (stored["instance_id"], stored["release"], stored["health"]) == (
                member.instance_id,
                version,
                "healthy",
            )
        count = len(fleet.instances[region])
        assert fleet.summary(region) == f"{count}/{count} on {version}, healthy"


def test_a_broken_release_is_refused_by_each_instance_which_returns_to_the_previous_one_until_rolled_back(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    good, broken = f"{unique}-good", f"{unique}-broken"
    _release(deployed, PRIMARY, good)
    fleet.converge(PRIMARY)
    _release(deployed, PRIMARY, broken, BROKEN)

    beats = fleet.converge(PRIMARY)
    assert {(b.release, b.health) for b in beats} == {(good, "unhealthy")}
    for beat in beats:
        assert beat.reason.startswith(f"release {broken} failed its health check: no healthy answer within 3s")
        assert beat.reason.endswith(f"; returned to {good}")
    assert {_serving(m.url) for m in fleet.instances[PRIMARY].values()} == {good}
    assert fleet.summary(PRIMARY).endswith(f"on {good}, {len(beats)} unhealthy")
    assert all(broken in problem for problem in fleet.problems(PRIMARY))

    _rollback(deployed, PRIMARY, broken)
    back = fleet.converge(PRIMARY)
    assert {(b.release, b.health, b.reason) for b in back} == {(good, "healthy", "")}


def test_an_artifact_overwritten_after_promotion_is_not_what_instances_run(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    version = f"{unique}-pinned"
    pointer = _release(deployed, SECONDARY, version)
    key = pointer["artifacts"][0]["key"]
    tampered = package_dir(BROKEN, version).artifacts[0].body
    deployed.aws("s3", SECONDARY).put_object(
        Bucket=deployed.out(SECONDARY, "deployment_bucket"), Key=key, Body=tampered
    )

    beats = fleet.converge(SECONDARY)
    assert {(b.release, b.health) for b in beats} == {(version, "healthy")}
    for member in fleet.instances[SECONDARY].values():
        assert (member.root / "current" / "app.py").read_bytes() == (APP / "app.py").read_bytes()


def test_an_instance_launched_after_a_release_converges_to_it_and_cannot_write_another_heartbeat(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    version = f"{unique}-scale"
    _release(deployed, PRIMARY, version)
    fleet.converge(PRIMARY)
    autoscaling = deployed.aws("autoscaling", PRIMARY)
    group = deployed.out(PRIMARY, "asg_name")
    before = set(fleet.instances[PRIMARY])
    autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=len(before) + 1)
    try:
        beats = fleet.converge(PRIMARY)
        members = fleet.instances[PRIMARY]
        (new,) = set(members) - before
        assert {(b.instance_id, b.release, b.health) for b in beats} >= {(new, version, "healthy")}
        assert _serving(members[new].url) == version

        (old,) = before
        clients = members[new].clients
        assert clients is not None
        s3 = clients[0]
        other = _user_id(deployed, PRIMARY, members[old].role_arn, old)
        deployed.emulator.enforce_iam(True)
        try:
            with pytest.raises(ClientError) as refused:
                s3.put_object(
                    Bucket=deployed.out(PRIMARY, "deployment_bucket"),
                    Key=f"fleet/heartbeats/{other}.json",
                    Body=b"{}",
                )
        finally:
            deployed.emulator.enforce_iam(False)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=len(before))
    scaled = dict(fleet.instances[PRIMARY])
    fleet.converge(PRIMARY)
    removed = [m for i, m in scaled.items() if i not in fleet.instances[PRIMARY]]
    assert len(removed) == 1 and len(fleet.instances[PRIMARY]) == len(before)
    assert removed[0].service.gone() == "the application is not running"


def test_an_instance_refresh_with_the_deployed_preferences_keeps_the_region_serving_and_replaces_every_instance(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    """min 100 % / max 200 %: each replacement is launched and healthy before the instance it replaces goes."""
    _release(deployed, SECONDARY, f"{unique}-refresh")
    fleet.converge(SECONDARY)
    before = {m.instance_id for m in fleet.sync(SECONDARY)}
    observed = fleet.refresh(SECONDARY)
    assert min(observed) == len(before) == observed[-1], observed
    after = {m.instance_id for m in fleet.sync(SECONDARY)}
    assert len(after) == len(before) and not after & before


def test_an_instance_refresh_with_the_earlier_preferences_leaves_a_group_of_one_serving_nothing(
    deployed: Deployed, fleet: Fleet, unique: str
) -> None:
    """min 90 % and AWS's default max 100 %: no room to launch first, so the only instance goes first."""
    _release(deployed, SECONDARY, f"{unique}-outage")
    fleet.converge(SECONDARY)
    assert len(fleet.sync(SECONDARY)) == 1
    observed = refresh(fleet, SECONDARY, Preferences(min_healthy_percentage=90, max_healthy_percentage=100))
    assert observed[0] == 1 and 0 in observed and observed[-1] == 1, observed
