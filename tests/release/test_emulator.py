"""Releases in the emulator: the three-region platform deployed by `tapstack up --local`, the real agents of the
simulated fleet serving examples/app, the emulator's own S3 replication, the handler as the deployed function.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tapstack.cli import main
from tapstack.emulator import fleet as fleet_module
from tapstack.emulator import replication
from tapstack.emulator.fleet import Fleet
from tapstack.emulator.release_target import EmulatorTarget
from tapstack.emulator.server import Emulator
from tapstack.release import Options, ReleaseReport, StackOutputs, package_dir, release
from tests.helpers import emulator_environment, up_local
from tests.release.helpers import ROOT

pytestmark = pytest.mark.integration
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
FAST = Options(bake=2.0, poll=0.5, converge_timeout=60.0, replication_timeout=60.0)


@dataclass
class Platform:
    emulator: Emulator
    outputs: dict[str, Any]
    fleet: Fleet

    def target(self) -> EmulatorTarget:
        return EmulatorTarget(self.emulator, StackOutputs.parse(self.outputs, "flat-outputs.json"), self.fleet)

    def release(self, name: str, version: str, options: Options = FAST) -> ReleaseReport:
        return release(self.target(), package_dir(ROOT / "examples" / name, version), options)

    def pointer(self, region: str) -> str | None:
        s3 = self.target().client("s3", region)
        bucket = self.outputs[f"{_code(region)}_deployment_bucket"]
        try:
            return str(json.loads(s3.get_object(Bucket=bucket, Key="releases/current.json")["Body"].read())["release"])
        except s3.exceptions.NoSuchKey:
            return None

    def served(self, region: str) -> set[str]:
        """What /healthz of every simulated instance in the region answers as its release."""
        releases = set()
        for instance in self.fleet.instances[region].values():
            with urllib.request.urlopen(f"{instance.url}/healthz", timeout=5) as response:
                releases.add(json.loads(response.read())["release"])
        return releases


def _code(region: str) -> str:
    return {"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}[region]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    outputs = tmp_path_factory.mktemp("outputs") / "flat-outputs.json"
    with Emulator.start() as emulator:
        _, doc = up_local(emulator, ROOT / "examples" / "platform" / "Pulumi.dev.yaml", outputs)
        with Fleet.start(emulator, doc, enforce_iam=True) as fleet:
            yield Platform(emulator, doc, fleet)


def test_examples_app_is_released_to_all_three_regions_and_served_by_every_instance(platform: Platform) -> None:
    report = platform.release("app", "1.0.0")
    assert report.outcome == "released", report.message
    assert [platform.pointer(r) for r in REGIONS] == ["1.0.0"] * 3
    assert all(platform.served(r) == {"1.0.0"} for r in REGIONS)
    assert all(r.state == "current" and "validate: all" in r.detail for r in report.regions)

    again = platform.release("app", "1.0.0")
    assert again.outcome == "noop" and "already current in every region" in again.message


def test_the_broken_app_fails_the_canary_and_every_region_keeps_serving_the_previous_release(
    platform: Platform,
) -> None:
    assert platform.release("app", "1.0.0").outcome in ("released", "noop")
    report = platform.release("app-broken", "1.1.0-broken")
    assert report.outcome == "failed"
    assert "fleet unhealthy in us-east-1" in report.message
    assert [r.state for r in report.regions] == ["rolled_back", "not_started", "not_started"]
    assert [platform.pointer(r) for r in REGIONS] == ["1.0.0"] * 3
    assert all(platform.served(r) == {"1.0.0"} for r in REGIONS)


def test_an_alarm_in_the_second_regions_bake_rolls_back_both(platform: Platform) -> None:
    assert platform.release("app", "1.0.0").outcome in ("released", "noop")
    target = platform.target()
    cloudwatch = target.client("cloudwatch", "us-west-2")
    topic = platform.outputs["usw2_alarm_topic_arn"]
    alarm = next(
        a["AlarmName"]
        for page in cloudwatch.get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
        if topic in a["AlarmActions"]
    )

    class Raising:
        """The simulated fleet, plus an alarm that fires once us-west-2 serves the new release."""

        def converge(self, region: str) -> object:
            beats = platform.fleet.converge(region)
            if region == "us-west-2" and platform.pointer("us-west-2") == "1.2.0":
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: errors")
            return beats

    try:
        stack = StackOutputs.parse(platform.outputs, "flat-outputs.json")
        report = release(
            EmulatorTarget(platform.emulator, stack, Raising()), package_dir(ROOT / "examples" / "app", "1.2.0"), FAST
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test: reset")
    assert report.outcome == "failed"
    assert alarm in report.message
    assert [r.state for r in report.regions] == ["rolled_back", "rolled_back", "not_started"]
    assert [platform.pointer(r) for r in REGIONS] == ["1.0.0"] * 3


def test_a_replication_timeout_migrates_no_region(platform: Platform) -> None:
    account = platform.emulator.account_id
    assert account is not None
    replication.set_delay(account, 3600)
    try:
        report = platform.release("app", "1.3.0", Options(bake=1, poll=0.5, replication_timeout=2.0))
    finally:
        replication.set_delay(account, 0)
    assert report.outcome == "failed"
    assert "replication did not complete within 2s" in report.message
    assert "us-west-2: missing 2: artifacts/1.3.0/app.tar.gz, artifacts/1.3.0/manifest.json" in report.message
    assert all(r.state == "not_started" for r in report.regions)
    assert [platform.pointer(r) for r in REGIONS] != ["1.3.0"] * 3 and "1.3.0" not in {
        platform.pointer(r) for r in REGIONS
    }


def _enforcing_iam(platform: Platform) -> bool:
    """Whether the emulator refuses a request signed with its own dummy keys (IAM evaluation left on)."""
    from botocore.exceptions import ClientError

    try:
        platform.target().client("s3", "us-east-1").list_buckets()
    except ClientError:
        return True
    return False


def test_sigterm_during_an_agent_pass_of_release_endpoint_rolls_back_stops_the_fleet_and_leaves_iam_off(
    platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert platform.release("app", "1.0.0").outcome in ("released", "noop")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(platform.outputs))
    sent: list[str] = []
    workdirs: list[Path] = []
    real_pass, real_start = fleet_module.run_once, Fleet.start

    def pass_then_sigterm(config: Any, s3: Any, sts: Any, service: Any) -> Any:
        pointer = json.loads(s3.get_object(Bucket=config.bucket, Key="releases/current.json")["Body"].read())
        if not sent and pointer["release"] == "1.5.0":
            sent.append("SIGTERM")
            os.kill(os.getpid(), signal.SIGTERM)  # lands while this pass runs with IAM enforced
        return real_pass(config, s3, sts, service)

    def start(*args: Any, **kwargs: Any) -> Fleet:
        fleet = real_start(*args, **kwargs)
        workdirs.append(fleet.workdir)
        return fleet

    monkeypatch.setattr(fleet_module, "run_once", pass_then_sigterm)
    monkeypatch.setattr(Fleet, "start", start)
    args = [str(ROOT / "examples" / "app"), "--version", "1.5.0", "--outputs", str(outputs), "--bake", "1"]
    with emulator_environment(platform.emulator):
        code = main(
            [
                "release",
                *args,
                "--poll",
                "0.5",
                "--converge-timeout",
                "60",
                "--json",
                "--endpoint",
                platform.emulator.url,
            ]
        )
    report = json.loads(capsys.readouterr().out)
    assert sent, report["message"]
    assert code == 1
    assert report["outcome"] == "interrupted" and "interrupted (SIGTERM)" in report["message"]
    assert [platform.pointer(r) for r in REGIONS] == ["1.0.0"] * 3
    assert {r["region"]: r["serving"] for r in report["regions"]} == dict.fromkeys(REGIONS, "1.0.0")
    assert not _enforcing_iam(platform)
    assert workdirs and not workdirs[0].exists()


def test_invoke_against_an_emulator_that_refuses_the_lookup_is_one_line(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    platform.emulator.enforce_iam(True)
    try:
        with emulator_environment(platform.emulator):
            code = main(["invoke", "status", "--endpoint", platform.emulator.url, "--region", "us-east-1"])
    finally:
        platform.emulator.enforce_iam(False)
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot read the function in us-east-1" in err and "Traceback" not in err and err.count("\n") == 1


def test_examples_app_goes_one_box_then_the_rest_on_four_real_agents_per_region(platform: Platform) -> None:
    assert platform.release("app", "1.0.0").outcome in ("released", "noop")
    groups = {r: platform.outputs[f"{_code(r)}_asg_name"] for r in REGIONS}
    sizes = {}
    for region, group in groups.items():
        autoscaling = platform.target().client("autoscaling", region)
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
        sizes[region] = (found["MaxSize"], found["DesiredCapacity"])
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, MaxSize=4, DesiredCapacity=4)
        platform.fleet.converge(region)
    try:
        report = platform.release("app", "1.4.0", dataclasses.replace(FAST, bake=0.0, batches=(0.0, 100.0)))
        assert report.outcome == "released", report.message
        for region in report.regions:
            stages = [(s["name"], len(s["instances"]), s["outcome"]) for s in region.stages]
            assert stages == [("one_box", 1, "passed"), ("all", 4, "passed")], region.region
        assert all(platform.served(r) == {"1.4.0"} for r in REGIONS)
    finally:
        for region, group in groups.items():
            most, desired = sizes[region]
            platform.target().client("autoscaling", region).update_auto_scaling_group(
                AutoScalingGroupName=group, MinSize=min(1, desired), MaxSize=most, DesiredCapacity=desired
            )
            platform.fleet.converge(region)
