"""Releases in the emulator: the three-region platform deployed by `tapstack up --local`, the real agents of the
simulated fleet serving examples/app, the emulator's own S3 replication, the handler as the deployed function.

Staged releases run on 4 instances per region (``four_per_region``): one box then the rest, a broken release
stopped at the canary's one box, an alarm in a later batch, instances launched mid-rollout, and a release
refused beside a running instance refresh. One deploy serves the module: each test leaves the groups' sizes,
alarms and refreshes as it found them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tapstack.cli import main
from tapstack.contract import HEARTBEAT_PREFIX, ROLLOUT, Heartbeat, in_cohort, stage_of
from tapstack.emulator import fleet as fleet_module
from tapstack.emulator import instance_refresh, replication
from tapstack.emulator.fleet import Fleet, SimulatedInstance
from tapstack.emulator.release_target import EmulatorTarget
from tapstack.emulator.server import Emulator
from tapstack.release import Event, Options, ReleaseReport, StackOutputs, package_dir, release
from tests.helpers import emulator_environment, up_local
from tests.release.helpers import ROOT

pytestmark = pytest.mark.integration
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
FAST = Options(bake=2.0, poll=0.5, converge_timeout=60.0, replication_timeout=60.0)
NO_BAKE = dataclasses.replace(FAST, bake=0.0)
"""Where the bake is not under test (the alarm tests watch one); a wave's alarms are still looked at once."""
STAGED = Options(bake=0.0, poll=0.2, converge_timeout=60.0, replication_timeout=60.0, batches=(0.0, 100.0))
"""One box, then the rest; no bake (a stage's alarms are still looked at once), a short poll."""
INSTANCES = 4
AfterPass = Callable[[str, list[Heartbeat]], None]


@dataclass
class _Watched:
    """The simulated fleet, and a test's action after each of its passes (an alarm, a look at the beats)."""

    fleet: Fleet
    after: AfterPass

    def converge(self, region: str) -> list[Heartbeat]:
        beats = self.fleet.converge(region)
        self.after(region, beats)
        return beats


@dataclass
class Platform:
    emulator: Emulator
    outputs: dict[str, Any]
    fleet: Fleet

    def target(self, after_pass: AfterPass | None = None) -> EmulatorTarget:
        fleet = self.fleet if after_pass is None else _Watched(self.fleet, after_pass)
        return EmulatorTarget(self.emulator, StackOutputs.parse(self.outputs, "flat-outputs.json"), fleet)

    def release(
        self,
        name: str,
        version: str,
        options: Options = FAST,
        *,
        after_pass: AfterPass | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> ReleaseReport:
        """``after_pass(region, heartbeats)`` runs after every agent pass the release drives."""
        package = package_dir(ROOT / "examples" / name, version)
        return release(self.target(after_pass), package, options, on_event=on_event)

    def document(self, region: str) -> dict[str, Any] | None:
        """The region's ``releases/current.json`` as the agents read it."""
        s3 = self.target().client("s3", region)
        try:
            body = s3.get_object(Bucket=self.bucket(region), Key="releases/current.json")["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return dict(json.loads(body))

    def pointer(self, region: str) -> str | None:
        document = self.document(region)
        return None if document is None else str(document["release"])

    def bucket(self, region: str) -> str:
        return str(self.outputs[f"{_code(region)}_deployment_bucket"])

    def group(self, region: str) -> str:
        return str(self.outputs[f"{_code(region)}_asg_name"])

    def resize(self, region: str, **sizes: int) -> list[SimulatedInstance]:
        """Set the region's group sizes, then one pass of every agent: launched instances boot, gone ones stop."""
        self.target().client("autoscaling", region).update_auto_scaling_group(
            AutoScalingGroupName=self.group(region), **sizes
        )
        self.fleet.converge(region)
        return list(self.fleet.instances[region].values())

    def tried(self, region: str, release: str, since: datetime) -> set[str]:
        """Every instance of the region whose agent reported ``release``, serving it or refusing it, in any
        heartbeat written since ``since``: the deployment bucket is versioned, so it keeps each one."""
        s3 = self.target().client("s3", region)
        found = set()
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket(region), Prefix=HEARTBEAT_PREFIX)
        for version in (v for page in pages for v in page.get("Versions", []) if v["LastModified"] >= since):
            body = s3.get_object(Bucket=self.bucket(region), Key=version["Key"], VersionId=version["VersionId"])
            beat = Heartbeat.from_json(json.loads(body["Body"].read()))
            if beat is not None and (beat.release == release or f"release {release} " in beat.reason):
                found.add(beat.instance_id)
        return found

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


def _on_the_previous_release(platform: Platform) -> None:
    """Every region on examples/app 1.0.0, the release the tests start from (a release without bake if not yet)."""
    assert platform.release("app", "1.0.0", STAGED).outcome in ("released", "noop")


@contextmanager
def _sizes_kept(platform: Platform) -> Iterator[None]:
    """Afterwards every group back to the sizes it has now, and the instances it no longer has stopped."""
    sizes = {}
    for region in REGIONS:
        autoscaling = platform.target().client("autoscaling", region)
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[platform.group(region)])
        sizes[region] = {k: found["AutoScalingGroups"][0][k] for k in ("MinSize", "MaxSize", "DesiredCapacity")}
    try:
        yield
    finally:
        for region in REGIONS:
            platform.resize(region, **sizes[region])


@pytest.fixture
def four_per_region(platform: Platform) -> Iterator[Platform]:
    """Every region on one release (the one it serves, or 1.0.0) with 4 instances, each agent booted and serving
    it; the groups' sizes restored afterwards, whatever the test did in between."""
    current = platform.pointer(REGIONS[0])
    if current is None or not _on_one_release(platform, current):
        _on_the_previous_release(platform)
    previous = platform.pointer(REGIONS[0])
    with _sizes_kept(platform):
        for region in REGIONS:
            assert len(platform.resize(region, MaxSize=INSTANCES, DesiredCapacity=INSTANCES)) == INSTANCES
            assert platform.served(region) == {previous}
        yield platform


def _stages(report: ReleaseReport) -> dict[str, list[tuple[str, int, str]]]:
    """Per region the stages reached: (name, how many instances, outcome)."""
    return {r.region: [(s["name"], len(s["instances"]), s["outcome"]) for s in r.stages] for r in report.regions}


def _on_one_release(platform: Platform, release: str) -> bool:
    """Every region's pointer names ``release`` with no rollout left, and every instance serves it."""
    documents = [platform.document(r) or {} for r in REGIONS]
    return all(d.get("release") == release and ROLLOUT not in d for d in documents) and all(
        platform.served(r) == {release} for r in REGIONS
    )


def _alarm_of(platform: Platform, region: str) -> str:
    """One of the stack's alarms in ``region`` (its actions notify the region's alarm topic)."""
    topic = platform.outputs[f"{_code(region)}_alarm_topic_arn"]
    cloudwatch = platform.target().client("cloudwatch", region)
    return next(
        str(a["AlarmName"])
        for page in cloudwatch.get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
        if topic in a["AlarmActions"]
    )


def test_examples_app_is_released_to_all_three_regions_and_served_by_every_instance(platform: Platform) -> None:
    report = platform.release("app", "0.9.0", NO_BAKE)
    assert report.outcome == "released", report.message
    assert [platform.pointer(r) for r in REGIONS] == ["0.9.0"] * 3
    assert all(platform.served(r) == {"0.9.0"} for r in REGIONS)
    assert all(r.state == "current" and "validate: all" in r.detail for r in report.regions)

    again = platform.release("app", "0.9.0", NO_BAKE)
    assert again.outcome == "noop" and "already current in every region" in again.message


def test_the_broken_app_fails_the_canary_and_every_region_keeps_serving_the_previous_release(
    platform: Platform,
) -> None:
    _on_the_previous_release(platform)
    report = platform.release("app-broken", "1.1.0-broken")
    assert report.outcome == "failed"
    assert "fleet unhealthy in us-east-1" in report.message
    assert [r.state for r in report.regions] == ["rolled_back", "not_started", "not_started"]
    assert [platform.pointer(r) for r in REGIONS] == ["1.0.0"] * 3
    assert all(platform.served(r) == {"1.0.0"} for r in REGIONS)


def test_an_alarm_in_the_second_regions_bake_rolls_back_both(platform: Platform) -> None:
    _on_the_previous_release(platform)
    cloudwatch = platform.target().client("cloudwatch", "us-west-2")
    alarm = _alarm_of(platform, "us-west-2")

    def alarm_once_us_west_2_serves_it(region: str, _: list[Heartbeat]) -> None:
        if region == "us-west-2" and platform.pointer("us-west-2") == "1.2.0":
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: errors")

    try:
        report = platform.release("app", "1.2.0", after_pass=alarm_once_us_west_2_serves_it)
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
    _on_the_previous_release(platform)
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


def test_the_broken_app_stops_at_the_canarys_one_box_only_that_instance_ever_ran_it_and_all_four_keep_the_previous(
    four_per_region: Platform,
) -> None:
    previous = four_per_region.pointer("us-east-1")
    since = datetime.now(UTC) - timedelta(seconds=1)
    report = four_per_region.release("app-broken", "1.6.0-broken", STAGED)
    assert report.outcome == "failed" and "fleet unhealthy in us-east-1" in report.message
    assert _stages(report) == {"us-east-1": [("one_box", 1, "failed")], "us-west-2": [], "eu-west-1": []}
    assert [r.state for r in report.regions] == ["rolled_back", "not_started", "not_started"]
    one_box = set(report.regions[0].stages[0]["instances"])
    ran = {r: four_per_region.tried(r, "1.6.0-broken", since) for r in REGIONS}
    assert ran == {"us-east-1": one_box, "us-west-2": set(), "eu-west-1": set()}, "only the one box ever ran it"
    assert _on_one_release(four_per_region, str(previous))


def test_an_alarm_in_the_second_regions_half_batch_rolls_back_its_cohorts_and_the_canary_onto_the_previous_release(
    four_per_region: Platform,
) -> None:
    previous = str(four_per_region.pointer("us-east-1"))
    cloudwatch = four_per_region.target().client("cloudwatch", "us-west-2")
    alarm = _alarm_of(four_per_region, "us-west-2")
    at_the_alarm: list[list[str]] = []

    def alarm_once_us_west_2_serves_its_half(region: str, beats: list[Heartbeat]) -> None:
        staged = stage_of(four_per_region.document(region)) or {}
        if region == "us-west-2" and staged.get("stage") == "batch" and not at_the_alarm:
            at_the_alarm.append(sorted(str(b.release) for b in beats))
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: errors")

    halves = dataclasses.replace(STAGED, batches=(0.0, 50.0, 100.0))
    try:
        report = four_per_region.release("app", "1.7.0", halves, after_pass=alarm_once_us_west_2_serves_its_half)
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test: reset")
    assert report.outcome == "failed" and alarm in report.message
    assert at_the_alarm == [sorted([previous, previous, "1.7.0", "1.7.0"])], "half of us-west-2 served 1.7.0"
    assert _stages(report) == {
        "us-east-1": [("one_box", 1, "passed"), ("batch", 2, "passed"), ("all", INSTANCES, "passed")],
        "us-west-2": [("one_box", 1, "passed"), ("batch", 2, "failed")],
        "eu-west-1": [],
    }
    assert [r.state for r in report.regions] == ["rolled_back", "rolled_back", "not_started"]
    assert _on_one_release(four_per_region, previous)


def test_a_release_while_an_instance_refresh_replaces_a_group_is_refused_by_the_preflight_naming_the_refresh(
    platform: Platform,
) -> None:
    _on_the_previous_release(platform)
    before = set(platform.fleet.instances["us-west-2"])
    reports: list[ReleaseReport] = []

    class ReleasingMidRefresh:
        """The simulated fleet as a refresh drives it: before its first pass (the group is replacing its
        instances, the refresh InProgress) a release starts."""

        targets, emulator, admin = platform.fleet.targets, platform.emulator, platform.fleet.admin

        def sync(self, region: str) -> list[SimulatedInstance]:
            return platform.fleet.sync(region)

        def converge(self, region: str) -> list[Heartbeat]:
            if not reports:
                reports.append(platform.release("app", "1.9.0", STAGED))
            return platform.fleet.converge(region)

    with _sizes_kept(platform):  # a refresh cut short (the release raised) may leave a group above its size
        instance_refresh.refresh(ReleasingMidRefresh(), "us-west-2")
    group = platform.group("us-west-2")
    autoscaling = platform.target().client("autoscaling", "us-west-2")
    refresh = autoscaling.describe_instance_refreshes(AutoScalingGroupName=group)["InstanceRefreshes"][0]
    ((report,),) = (reports,)
    assert report.outcome == "refused"
    assert f"us-west-2: instance refresh {refresh['InstanceRefreshId']} of {group} is InProgress" in report.message
    assert not any(r.stages for r in report.regions) and [r.state for r in report.regions] == ["not_started"] * 3
    assert refresh["Status"] == "Successful" and not before & set(platform.fleet.instances["us-west-2"])
    assert _on_one_release(platform, "1.0.0")


def test_instances_launched_in_the_canarys_one_box_stage_and_as_its_last_begins_join_their_cohort_then_the_release(
    four_per_region: Platform,
) -> None:
    platform = four_per_region
    previous = platform.pointer("us-east-1")
    # instance launched mid-rollout -> (what its first pass served, whether the cohort rule places it inside)
    joined: dict[str, tuple[str | None, bool]] = {}

    def scale_out(size: int) -> None:
        before = set(platform.fleet.instances["us-east-1"])
        launched = platform.resize("us-east-1", MaxSize=size, DesiredCapacity=size)
        bound = (platform.document("us-east-1") or {})[ROLLOUT]["bound"]
        for new in (m for m in launched if m.instance_id not in before):
            assert new.last is not None
            joined[new.instance_id] = (new.last.release, in_cohort(new.instance_id, "1.8.0", bound))

    def in_the_one_box_stage(region: str, _: list[Heartbeat]) -> None:
        staged = stage_of(platform.document(region)) or {}
        if region == "us-east-1" and staged.get("stage") == "one_box" and not joined:
            scale_out(INSTANCES + 1)  # the release's next look at the stage sees it

    def as_the_last_stage_begins(event: Event) -> None:
        if event.phase == "stage" and event.region == "us-east-1" and event.message.startswith("stage 2/2"):
            scale_out(INSTANCES + 2)  # after the stage's instances were listed, before its migrate

    report = platform.release(
        "app", "1.8.0", STAGED, after_pass=in_the_one_box_stage, on_event=as_the_last_stage_begins
    )
    assert report.outcome == "released", report.message
    assert len(joined) == 2
    assert all(serving == ("1.8.0" if inside else previous) for serving, inside in joined.values()), joined
    assert _stages(report)["us-east-1"] == [("one_box", 1, "passed"), ("all", INSTANCES + 2, "passed")]
    assert set(joined) <= set(report.regions[0].stages[-1]["instances"])
    assert len(platform.fleet.instances["us-east-1"]) == INSTANCES + 2 and _on_one_release(platform, "1.8.0")


def test_examples_app_goes_one_box_then_the_rest_on_four_real_agents_per_region(
    four_per_region: Platform,
) -> None:
    report = four_per_region.release("app", "1.4.0", STAGED)
    assert report.outcome == "released", report.message
    assert _stages(report) == {r: [("one_box", 1, "passed"), ("all", INSTANCES, "passed")] for r in REGIONS}
    assert _on_one_release(four_per_region, "1.4.0")
