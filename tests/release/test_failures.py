"""Every way a release can stop after its first migrate ends the same way: pointers read, rolled back, the truth.

An AWS error the orchestration did not expect, a bug, Ctrl-C, SIGTERM (a cancelled CI job, ``timeout``) and
SIGHUP (a closed terminal) each leave every region on the release it had, a report whose ``serving`` column is
what the pointers name, and no release lease behind.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tapstack.release import Options, ReleaseReport, package_dir, release
from tapstack.release.lease import LEASE_KEY
from tapstack.release.package import Package
from tests.release.faults import Faults, Point
from tests.release.helpers import PRIMARY, REGIONS, World, write_app

FAST = {"bake": 10.0, "poll": 5.0, "converge_timeout": 120.0, "replication_timeout": 120.0}


def _package(tmp_path: Path, version: str, body: str = "print('ok')\n") -> Package:
    return package_dir(write_app(tmp_path / f"app-{version}-{abs(hash(body))}", body), version)


def _release(world: World, package: Package, **options: object) -> ReleaseReport:
    return release(world.target(), package, Options(**{**FAST, **options}), world.clock)  # type: ignore[arg-type]


def _states(report: ReleaseReport) -> dict[str, str]:
    return {r.region: r.state for r in report.regions}


def _leases(world: World) -> dict[str, str]:
    found = {}
    for region in REGIONS:
        body = world.client("s3", region).get_object(Bucket=world.out(region, "deployment_bucket"), Key=LEASE_KEY)
        found[region] = json.loads(body["Body"].read())["state"]
    return found


def _assert_truthful(world: World, report: ReleaseReport) -> None:
    assert {r.region: r.serving for r in report.regions} == {r: world.release_of(r) for r in REGIONS}


def test_a_throttled_describe_alarms_in_the_canarys_bake_rolls_the_canary_back(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    faults = Faults(world.session)
    faults.arm_when(lambda p: p.operation == "DescribeAlarms" and world.release_of(PRIMARY) == "2.0.0", "throttle")
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert faults.hit
    assert report.outcome == "failed"
    assert "ThrottlingException" in report.message and "rolled back us-east-1" in report.message
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "not_started", "eu-west-1": "not_started"}
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)


def test_a_bug_while_the_second_region_converges_still_rolls_back_both_first(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    from tapstack.release import orchestrate

    real = orchestrate.assess

    def buggy(view, release, since, now, fail_fast, expect=None):  # type: ignore[no-untyped-def]
        if world.release_of("us-west-2") == "2.0.0" and fail_fast:
            raise ValueError("a bug in TapStack")
        return real(view, release, since, now, fail_fast, expect)

    monkeypatch.setattr(orchestrate, "assess", buggy)
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert report.outcome == "failed"
    assert "ValueError: a bug in TapStack" in report.message
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "rolled_back", "eu-west-1": "not_started"}
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)


def test_ctrl_c_while_the_canarys_migrate_is_in_flight_rolls_it_back_and_says_so(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    sent: list[str] = []

    def ctrl_c(event: dict[str, object]) -> None:
        if event["action"] == "migrate" and not sent:
            sent.append(str(event["migration_id"]))
            os.kill(os.getpid(), signal.SIGINT)

    world.while_running = ctrl_c
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert sent
    assert report.outcome == "interrupted"
    assert "interrupted (SIGINT)" in report.message and "rolled back us-east-1" in report.message
    assert "no region had been migrated" not in report.message
    assert _states(report)["us-east-1"] == "rolled_back"
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)


def _in_bake_of_wave_one(world: World) -> object:
    return lambda p: p.operation == "DescribeAlarms" and world.release_of("us-west-2") == "2.0.0"


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_roll_back_like_ctrl_c_and_give_the_lease_back(
    world: World, tmp_path: Path, signal_name: str
) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    faults = Faults(world.session)
    faults.arm_when(_in_bake_of_wave_one(world), signal_name)  # type: ignore[arg-type]
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert faults.hit
    assert report.outcome == "interrupted"
    assert f"interrupted ({signal_name})" in report.message
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "rolled_back", "eu-west-1": "not_started"}
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)
    assert _leases(world) == dict.fromkeys(REGIONS, "released")
    faults.arm(None)
    assert _release(world, _package(tmp_path, "2.0.0", "v2\n")).outcome == "released"


def test_sigterm_with_no_rollback_leaves_the_regions_and_says_which_from_the_pointers(
    world: World, tmp_path: Path
) -> None:
    faults = Faults(world.session)
    faults.arm_when(lambda p: p.operation == "Invoke" and world.release_of("us-west-2") == "1.0.0", "SIGTERM")
    report = _release(world, _package(tmp_path, "1.0.0"), rollback=False)
    assert report.outcome == "interrupted"
    assert "regions left on 1.0.0: us-east-1, us-west-2" in report.message
    assert [world.release_of(r) for r in REGIONS] == ["1.0.0", "1.0.0", None]
    _assert_truthful(world, report)
    assert _leases(world) == dict.fromkeys(REGIONS, "released")


def test_a_rollback_that_meets_a_500_is_tried_again(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    world.broken.add("2.0.0")
    faults = Faults(world.session)
    # The canary's migrate is its first Invoke; its fleet turns unhealthy, so the second is the rollback.
    faults.arm(Point("lambda", "Invoke", PRIMARY, 1), "500")
    calls = len(world.invocations)
    report = _release(world, _package(tmp_path, "2.0.0", "broken\n"))
    assert faults.hit
    assert [e["action"] for _, e in world.invocations[calls:]] == ["migrate", "rollback"]
    assert report.outcome == "failed"
    assert _states(report)["us-east-1"] == "rolled_back", report.regions[0].detail
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)


def test_a_fleet_look_that_hangs_fails_the_stage_at_converge_timeout_and_rolls_back(
    world: World, tmp_path: Path
) -> None:
    """--converge-timeout is a deadline on the wait, not only a check between looks: a look that never ends
    (an agent pass stuck on a trickling health endpoint, a trickling S3 read) ends the stage on time."""
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    target = world.target()
    release_hang = threading.Event()

    def converge(region: str) -> None:
        if world.release_of(PRIMARY) == "2.0.0":
            release_hang.wait(30)

    target.converge = converge  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        report = release(
            target, _package(tmp_path, "2.0.0", "v2\n"), Options(**{**FAST, "converge_timeout": 1.0}), world.clock
        )  # type: ignore[arg-type]
    finally:
        release_hang.set()
    assert time.monotonic() - started < 10
    assert report.outcome == "failed"
    assert "did not end within 1s" in report.message
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)


def test_a_signal_during_the_in_process_function_waits_until_it_has_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """On AWS the function runs to its end whatever the caller does; in the emulator it runs in this process, and a
    Ctrl-C in its middle left the region's lock held until it expired (90 s). The signal now waits for it."""
    from types import SimpleNamespace

    from tapstack.emulator import release_target
    from tapstack.emulator.release_target import EmulatorTarget
    from tapstack.release import StackOutputs
    from tapstack.release.interrupts import Interrupted, signals_as_interrupts

    finished: list[str] = []

    def handler_run(emulator: object, function: object, event: dict[str, object]) -> object:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal is delivered meanwhile; the function carries on
        finished.append(str(event["action"]))
        return SimpleNamespace(response={"statusCode": 200, "body": {"outcome": "success", "message": "ok"}})

    monkeypatch.setattr(release_target, "invoke_handler", handler_run)
    outputs = StackOutputs.parse(
        {
            "primary_region": "us-east-1",
            "regions": ["us-east-1"],
            "use1_deployment_bucket": "b",
            "use1_function_name": "f",
            "use1_alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
        },
        "outputs.json",
    )
    target = EmulatorTarget(SimpleNamespace(url="http://127.0.0.1:1"), outputs)  # type: ignore[arg-type]
    target._functions["us-east-1"] = object()  # type: ignore[assignment]
    with signals_as_interrupts(), pytest.raises(Interrupted) as raised:
        target.invoke("us-east-1", {"action": "rollback", "migration_id": "m-1"})
    assert finished == ["rollback"] and raised.value.name == "SIGINT"


def test_a_lease_renewal_that_fails_in_the_bake_rolls_back_and_the_lease_is_given_back(
    world: World, tmp_path: Path
) -> None:
    """The lease is renewed once a third of its ttl has passed: a 300 s bake renews it, and that write fails."""
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    faults = Faults(world.session)
    faults.arm_when(lambda p: p.operation == "PutObject" and world.release_of(PRIMARY) == "2.0.0", "500")
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"), bake=300.0, poll=30.0)
    assert faults.hit
    assert report.outcome == "failed"
    assert "ReleaseLocked: lost the release lease" in report.message and "rolled back us-east-1" in report.message
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    _assert_truthful(world, report)
    assert _leases(world) == dict.fromkeys(REGIONS, "released")


def test_sigterm_while_a_parallel_wave_migrates_rolls_back_every_region_that_moved(
    world: World, tmp_path: Path
) -> None:
    """The signal lands in the main thread while the wave's threads call their regions: each thread stops at its
    next poll, and the pointers decide what is rolled back (one region's migrate may have landed, or both)."""
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    faults = Faults(world.session)
    faults.arm_when(lambda p: p.operation == "Invoke" and p.region == "eu-west-1" and p.occurrence == 0, "SIGTERM")
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"), parallel=2)
    assert faults.hit
    assert report.outcome == "interrupted" and "interrupted (SIGTERM)" in report.message
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    assert _states(report)["us-east-1"] == "rolled_back"
    _assert_truthful(world, report)
    assert _leases(world) == dict.fromkeys(REGIONS, "released")
    assert not [t.name for t in threading.enumerate() if t.name.startswith("wave")]
