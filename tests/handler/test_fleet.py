"""The fleet section and the ``fleet`` check: InService instances of the group against their heartbeats."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .helpers import Region, body, client

ROLE_ID = "AROAEXAMPLEROLEID"


@dataclass
class Fleet:
    aws: Region
    group: str
    instances: list[str]

    def beat(self, instance: str, *, key_instance: str | None = None, age: int = 10, **fields: Any) -> None:
        """The agent's heartbeat for ``instance``, written ``age`` seconds ago."""
        doc = {
            "instance_id": instance,
            "release": "r1",
            "health": "healthy",
            "reason": "",
            "previous_release": None,
            "timestamp": (datetime.now(UTC) - timedelta(seconds=age)).isoformat().replace("+00:00", "Z"),
            "agent": "tapstack-agent/1",
            **fields,
        }
        self.aws.put_json(f"fleet/heartbeats/{ROLE_ID}:{key_instance or instance}.json", doc)

    def all_healthy_on(self, release: str) -> None:
        for instance in self.instances:
            self.beat(instance, release=release)


@pytest.fixture
def fleet(aws: Region, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    """Two InService instances (moto launches them at once), past a grace period of 0 s."""
    tag = uuid.uuid4().hex[:8]
    client("ec2").create_launch_template(
        LaunchTemplateName=f"lt-{tag}", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    )
    group = f"tapstack-app-dev-euw1-{tag}"
    autoscaling = client("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": f"lt-{tag}"},
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=["eu-west-1a"],
    )
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    monkeypatch.setenv("TAPSTACK_ASG_NAME", group)
    monkeypatch.setenv("TAPSTACK_FLEET_GRACE_SECONDS", "0")
    yield Fleet(aws, group, sorted(i["InstanceId"] for i in found["Instances"]))
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName=group, ForceDelete=True)


def promote(aws: Region, release: str = "r1") -> None:
    response = aws.invoke({"action": "migrate", "migration_id": f"m-{release}", "manifest_key": aws.release(release)})
    assert response["statusCode"] == 200, response


def fleet_check(aws: Region) -> tuple[bool, str, dict[str, Any]]:
    result = body(aws.invoke({"action": "validate"}))["result"]
    check = next(c for c in result["checks"] if c["name"] == "fleet")
    return check["ok"], check["detail"], result["fleet"]


def test_without_a_group_the_fleet_check_passes_and_says_compute_is_off(aws: Region) -> None:
    ok, detail, section = fleet_check(aws)
    assert ok
    assert "TAPSTACK_ASG_NAME is empty: compute is off" in detail
    assert section["asg_name"] is None


def test_before_any_release_the_fleet_check_passes_and_says_so(fleet: Fleet) -> None:
    ok, detail, section = fleet_check(fleet.aws)
    assert ok
    assert detail == "no release is current yet: 2 InService instance(s), nothing to converge to"
    assert [i["state"] for i in section["instances"]] == ["no_release", "no_release"]


def test_every_instance_fresh_and_healthy_on_the_current_release_passes(fleet: Fleet) -> None:
    promote(fleet.aws)
    fleet.all_healthy_on("r1")
    ok, detail, section = fleet_check(fleet.aws)
    assert ok, detail
    assert detail == "2/2 InService instance(s) serve release r1, healthy"
    assert (section["in_service"], section["serving"], section["failing"]) == (2, 2, 0)
    beat = section["instances"][0]["heartbeat"]
    assert (beat["release"], beat["health"], beat["reason"]) == ("r1", "healthy", "")
    assert 9 <= beat["age_seconds"] < 60


@pytest.mark.parametrize(
    ("heartbeat", "reason"),
    [
        (None, "no heartbeat"),
        ({"age": 600}, "last heartbeat 600 s ago (fresh is under 120 s)"),
        ({"release": "r0"}, "serves release r0, not r1"),
        ({"release": None}, "serves release none, not r1"),
        ({"health": "unhealthy", "reason": "GET /healthz timed out after 5 s"}, "unhealthy: GET /healthz timed out"),
        ({"timestamp": "yesterday"}, "heartbeat has no readable timestamp"),
        ({"key_instance": "i-0someoneelse00000"}, None),
    ],
    ids=["missing", "stale", "other-release", "no-release", "unhealthy", "bad-timestamp", "other-key"],
)
def test_an_instance_past_its_grace_period_not_serving_the_release_fails_the_check_naming_it(
    fleet: Fleet, heartbeat: dict[str, Any] | None, reason: str | None
) -> None:
    promote(fleet.aws)
    good, bad = fleet.instances
    fleet.beat(good)
    if heartbeat is not None:
        fleet.beat(bad, **heartbeat)
    ok, detail, section = fleet_check(fleet.aws)
    assert not ok
    assert detail.startswith("1/2 InService instance(s) serve release r1, healthy; 1 past the grace period do not: ")
    assert f"{bad} ({reason or 'no heartbeat'}" in detail
    states = {i["instance_id"]: i["state"] for i in section["instances"]}
    assert states == {good: "serving", bad: "failing"}


def test_a_heartbeat_whose_body_names_another_instance_is_not_trusted(fleet: Fleet) -> None:
    promote(fleet.aws)
    good, bad = fleet.instances
    fleet.beat(good)
    fleet.aws.put_json(
        f"fleet/heartbeats/{ROLE_ID}:{bad}.json",
        {"instance_id": good, "release": "r1", "health": "healthy", "reason": "", "timestamp": "2099-01-01T00:00:00Z"},
    )
    ok, detail, _ = fleet_check(fleet.aws)
    assert not ok
    assert f"{bad} (heartbeat body names instance '{good}', its key {bad})" in detail


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "heartbeat is not a JSON object"),
        (b"not json", "heartbeat is not a JSON object"),
        (b" " * 70_000, "heartbeat is 70000 bytes (a heartbeat is under 65536)"),
    ],
    ids=["nested-30000-deep", "not-json", "too-large"],
)
def test_an_unreadable_heartbeat_is_reported_not_a_crash(fleet: Fleet, payload: bytes, reason: str) -> None:
    promote(fleet.aws)
    good, bad = fleet.instances
    fleet.beat(good)
    fleet.aws.put(f"fleet/heartbeats/{ROLE_ID}:{bad}.json", payload)
    ok, detail, _ = fleet_check(fleet.aws)
    assert not ok
    assert f"{bad} ({reason})" in detail


def test_instances_within_the_grace_period_do_not_fail_the_check(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_FLEET_GRACE_SECONDS", "3600")
    promote(fleet.aws)
    ok, detail, section = fleet_check(fleet.aws)
    assert ok, detail
    assert detail == "0/2 InService instance(s) serve release r1, healthy; 2 within the 3600 s grace period"
    assert {i["state"] for i in section["instances"]} == {"within_grace"}


def test_a_group_that_does_not_exist_fails_the_check_naming_it(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_ASG_NAME", fleet.group + "-gone")
    ok, detail, section = fleet_check(fleet.aws)
    assert not ok
    assert detail == f"Auto Scaling group {fleet.group}-gone (TAPSTACK_ASG_NAME) does not exist"
    assert section["error"] == detail


def test_heartbeats_of_instances_no_longer_in_the_group_are_counted_not_judged(fleet: Fleet) -> None:
    promote(fleet.aws)
    fleet.all_healthy_on("r1")
    fleet.beat("i-0terminated000000", release="r0", health="unhealthy", reason="gone")
    ok, _, section = fleet_check(fleet.aws)
    assert ok
    assert section["other_heartbeats"] == 1


def test_status_reports_the_fleet_with_each_instance_heartbeat(fleet: Fleet) -> None:
    promote(fleet.aws)
    good, bad = fleet.instances
    fleet.beat(good)
    fleet.beat(bad, health="unhealthy", reason="exit status 1")
    for event in ({"action": "status"}, {"action": "status", "migration_id": "m-r1"}):
        section = body(fleet.aws.invoke(event))["result"]["fleet"]
        assert (section["region"], section["asg_name"], section["release"]) == ("eu-west-1", fleet.group, "r1")
        beats = {i["instance_id"]: i["heartbeat"] for i in section["instances"]}
        assert (beats[bad]["health"], beats[bad]["reason"], beats[bad]["release"]) == (
            "unhealthy",
            "exit status 1",
            "r1",
        )
        assert beats[good]["last_seen"].endswith("Z")


def test_the_fleet_reply_is_plain_json(fleet: Fleet) -> None:
    promote(fleet.aws)
    fleet.all_healthy_on("r1")
    json.dumps(fleet.aws.invoke({"action": "validate"}))


@pytest.mark.parametrize(("window", "passes"), [("30", True), ("20", False)])
def test_the_freshness_window_is_the_functions_setting(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, window: str, passes: bool
) -> None:
    monkeypatch.setenv("TAPSTACK_HEARTBEAT_FRESH_SECONDS", window)
    promote(fleet.aws)
    for instance in fleet.instances:
        fleet.beat(instance, age=25)
    ok, detail, section = fleet_check(fleet.aws)
    assert ok is passes, detail
    assert section["fresh_seconds"] == int(window)
    if not passes:
        assert "(fresh is under 20 s)" in detail


@pytest.mark.parametrize("value", ["0", "2m", "-5", "86401"])
def test_a_malformed_freshness_window_is_a_500_naming_it(
    aws: Region, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TAPSTACK_HEARTBEAT_FRESH_SECONDS", value)
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 500
    assert f"TAPSTACK_HEARTBEAT_FRESH_SECONDS is {value!r}" in body(response)["message"]
