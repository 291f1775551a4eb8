"""The release's parts on their own: fleet assessment, the outputs file, the lease, Lambda's error answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tapstack.contract import Heartbeat
from tapstack.release import Options, package_dir, release
from tapstack.release.convergence import FleetView, assess
from tapstack.release.errors import ReleaseError, ReleaseLocked
from tapstack.release.lease import LEASE_KEY, ReleaseLease
from tapstack.release.outputs import StackOutputs
from tests.release.helpers import PRIMARY, REGIONS, World, write_app

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(seconds=60)


def _beat(instance: str, release: str | None, health: str = "healthy", age: float = 5, reason: str = "") -> Heartbeat:
    return Heartbeat(instance, release, health, reason, None, (NOW - timedelta(seconds=age)).isoformat())


def _view(*beats: Heartbeat, instances: tuple[str, ...] = ("i-1", "i-2")) -> FleetView:
    return FleetView(instances, {b.instance_id: b for b in beats})


def test_a_fleet_is_converged_when_every_in_service_instance_is_fresh_healthy_and_on_the_release() -> None:
    seen = assess(_view(_beat("i-1", "2.0"), _beat("i-2", "2.0")), "2.0", SINCE, NOW, fail_fast=True)
    assert (seen.state, seen.ready, seen.total, seen.detail) == ("converged", 2, 2, "2/2 healthy on 2.0")


@pytest.mark.parametrize(
    ("beats", "detail"),
    [
        ((_beat("i-1", "2.0"),), "i-2: no heartbeat yet"),
        ((_beat("i-1", "2.0"), _beat("i-2", "1.0")), "i-2: on 1.0 (healthy)"),
        ((_beat("i-1", "2.0"), _beat("i-2", "2.0", age=121)), "i-2: last heartbeat"),
        ((_beat("i-1", "2.0"), _beat("i-2", None, "none")), "i-2: on no release (none)"),
    ],
)
def test_a_fleet_behind_is_waiting_and_names_the_instance(beats: tuple[Heartbeat, ...], detail: str) -> None:
    seen = assess(_view(*beats), "2.0", SINCE, NOW, fail_fast=True)
    assert seen.state == "waiting" and detail in seen.detail and seen.ready == 1


def test_an_unhealthy_report_since_the_migration_fails_at_once_going_forward_only() -> None:
    beats = (_beat("i-1", "2.0"), _beat("i-2", "1.0", "unhealthy", age=10, reason="GET /healthz: 500"))
    forward = assess(_view(*beats), "2.0", SINCE, NOW, fail_fast=True)
    assert forward.state == "unhealthy" and "i-2 unhealthy on 1.0: GET /healthz: 500" in forward.detail
    assert assess(_view(*beats), "2.0", SINCE, NOW, fail_fast=False).state == "waiting"


def test_an_unhealthy_report_from_before_the_migration_is_only_waited_out() -> None:
    beats = (_beat("i-1", "2.0"), _beat("i-2", "1.0", "unhealthy", age=90))
    assert assess(_view(*beats), "2.0", SINCE, NOW, fail_fast=True).state == "waiting"


def test_heartbeats_of_instances_no_longer_in_service_do_not_count() -> None:
    seen = assess(_view(_beat("i-1", "2.0"), _beat("i-old", "1.0"), instances=("i-1",)), "2.0", SINCE, NOW, True)
    assert seen.state == "converged"


def test_a_region_without_compute_has_nothing_to_converge() -> None:
    seen = assess(None, "2.0", SINCE, NOW, fail_fast=True)
    assert seen.state == "converged" and seen.summary == "no instances"


def test_outputs_without_primary_region_are_refused() -> None:
    with pytest.raises(ReleaseError, match="primary_region and regions are missing"):
        StackOutputs.parse({"regions": ["us-east-1"]}, "o.json")


def test_outputs_that_are_not_json_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text("{not json")
    with pytest.raises(ReleaseError, match="not a JSON outputs file"):
        StackOutputs.load(path)


def test_a_region_without_compute_parses_with_no_group() -> None:
    doc = {
        "primary_region": "us-east-1",
        "regions": ["us-east-1"],
        "use1_deployment_bucket": "b",
        "use1_function_name": "f",
        "use1_alarm_topic_arn": "arn:aws:sns:us-east-1:1:t",
    }
    assert StackOutputs.parse(doc, "o.json").region("us-east-1").asg_name is None


def test_an_expired_lease_of_a_dead_release_is_taken_over(world: World) -> None:
    stack = world.target().outputs
    regions = [stack.region(r) for r in REGIONS]
    dead = ReleaseLease(world.target(), regions, "release 0.9", world.clock, timedelta(seconds=60))
    dead.acquire()
    with pytest.raises(ReleaseLocked, match=r"is being released by release 0\.9"):
        ReleaseLease(world.target(), regions, "release 1.0", world.clock, timedelta(seconds=60)).acquire()
    world.clock.t += 61
    taker = ReleaseLease(world.target(), regions, "release 1.0", world.clock, timedelta(seconds=60))
    taker.acquire()
    body = world.client("s3").get_object(Bucket=world.out(PRIMARY, "deployment_bucket"), Key=LEASE_KEY)["Body"]
    assert json.loads(body.read())["owner"].startswith("release 1.0")
    taker.release()
    ReleaseLease(world.target(), regions, "release 1.1", world.clock, timedelta(seconds=60)).acquire()


def test_a_function_that_times_out_fails_the_canary_with_lambdas_error(world: World, tmp_path: Path) -> None:
    name = world.out(PRIMARY, "function_name")
    timeout = json.dumps({"errorMessage": "Task timed out after 60.00 seconds", "errorType": "Sandbox.Timedout"})
    world.lambda_answers[name] = ({"X-Amz-Function-Error": "Unhandled"}, timeout.encode())
    report = release(world.target(), package_dir(write_app(tmp_path / "app"), "1.0.0"), Options(bake=5), world.clock)
    assert report.outcome == "failed"
    assert "failed (Unhandled): Task timed out after 60.00 seconds" in report.regions[0].detail
    assert all(world.pointer(r) is None for r in REGIONS)


def test_a_function_answering_something_else_than_the_reply_shape_fails_the_canary(
    world: World, tmp_path: Path
) -> None:
    world.lambda_answers[world.out(PRIMARY, "function_name")] = ({}, b'{"hello": "world"}')
    report = release(world.target(), package_dir(write_app(tmp_path / "app"), "1.0.0"), Options(bake=5), world.clock)
    assert report.outcome == "failed"
    assert 'unexpected reply from the function: {"hello": "world"}' in report.regions[0].detail


def test_presets_and_percentages_become_stages_of_whole_instances_the_last_everyone() -> None:
    from tapstack.release.plan import Options, parse_batches, stage_sizes

    assert stage_sizes(Options(batches=parse_batches("OneBoxThenAll")), 4) == [1, 4]
    assert stage_sizes(Options(batches=parse_batches("1,25,100")), 20) == [1, 5, 20]
    assert stage_sizes(Options(batches=parse_batches("HalfAtATime")), 5) == [3, 5]
    assert stage_sizes(Options(batches=parse_batches("OneAtATime")), 3) == [1, 2, 3]
    assert stage_sizes(Options(batches=parse_batches("AllAtOnce")), 4) == [4]


@pytest.mark.parametrize(
    ("batches", "min_healthy", "instances", "message"),
    [
        ("AllAtOnce", "1", 4, "a stage of 4 of 4 instances would leave 0 serving"),
        ("HalfAtATime", "75%", 4, "a stage of 2 of 4 instances would leave 2 serving"),
        ("25,50", "0", 4, "the last one 100"),
        ("50,25,100", "0", 4, "each stage must reach more"),
        ("half", "0", 4, "use percentages such as 1,25,100 or one of AllAtOnce"),
    ],
)
def test_stages_that_break_min_healthy_or_do_not_end_at_everyone_are_refused_naming_the_flag(
    batches: str, min_healthy: str, instances: int, message: str
) -> None:
    from tapstack.release.errors import ReleaseError
    from tapstack.release.plan import Options, parse_batches, stage_sizes

    with pytest.raises(ReleaseError) as refused:
        stage_sizes(Options(batches=parse_batches(batches), min_healthy=min_healthy), instances)
    assert message in str(refused.value)
