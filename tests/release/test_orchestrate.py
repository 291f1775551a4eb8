"""The release end to end through the real-AWS target (moto + the real handler + simulated agents).

Each test asserts what a user would check afterwards: which release each region's pointer names, what the
fleet reports, which function calls were made in which order, and what the report says per region.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tapstack.release import Event, Options, ReleaseReport, package_dir, release
from tapstack.release.errors import ReleaseError, ReleaseLocked, VersionConflict
from tapstack.release.package import Package
from tests.release.helpers import PRIMARY, REGIONS, World, write_app

FAST = {"bake": 10.0, "poll": 5.0, "converge_timeout": 120.0, "replication_timeout": 120.0}
"""Virtual seconds: each bake looks three times (at its start, after one poll, at its end)."""


def _package(tmp_path: Path, version: str, body: str = "print('ok')\n") -> Package:
    return package_dir(write_app(tmp_path / f"app-{version}-{abs(hash(body))}", body), version)


def _release(world: World, package: Package, **options: object) -> ReleaseReport:
    return release(world.target(), package, Options(**{**FAST, **options}), world.clock)  # type: ignore[arg-type]


def _actions(world: World) -> list[tuple[str, str]]:
    """(region, action) of every function call, in order."""
    by_name = {world.out(r, "function_name"): r for r in REGIONS}
    return [(by_name[name], str(event["action"])) for name, event in world.invocations]


def _states(report: ReleaseReport) -> dict[str, str]:
    return {r.region: r.state for r in report.regions}


def _when(world: World, condition: Callable[[], bool], action: Callable[[], None]) -> None:
    """Run ``action`` once, at the first poll where ``condition`` holds."""
    fired: list[bool] = []

    def check() -> None:
        if not fired and condition():
            fired.append(True)
            action()

    world.clock.on_sleep.append(check)


def test_release_reaches_every_region_canary_first_each_migrated_converged_and_validated(
    world: World, tmp_path: Path
) -> None:
    report = _release(world, _package(tmp_path, "1.0.0"))
    assert report.outcome == "released", report.message
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    assert _actions(world) == [(r, a) for r in REGIONS for a in ("migrate", "validate")]
    assert all(r.state == "current" and r.fleet == "2/2 on 1.0.0" for r in report.regions)
    assert report.uploaded == ["artifacts/1.0.0/app.tar.gz", "artifacts/1.0.0/manifest.json"]
    assert set(report.phases) >= {"upload", "replication", "preflight", "wave 0", "bake wave 0", "wave 2"}
    assert all(set(r.seconds) == {"migrate", "converge", "validate"} for r in report.regions)


def test_canary_option_puts_that_region_first(world: World, tmp_path: Path) -> None:
    report = _release(world, _package(tmp_path, "1.0.0"), canary="eu-west-1")
    assert report.outcome == "released", report.message
    assert [r for r, a in _actions(world) if a == "migrate"] == ["eu-west-1", "us-east-1", "us-west-2"]


def test_parallel_two_releases_the_secondaries_in_one_wave(world: World, tmp_path: Path) -> None:
    report = _release(world, _package(tmp_path, "1.0.0"), parallel=2)
    assert report.outcome == "released", report.message
    assert report.plan["waves"] == [["us-east-1"], ["us-west-2", "eu-west-1"]]
    assert {r.region: r.wave for r in report.regions} == {"us-east-1": 0, "us-west-2": 1, "eu-west-1": 1}


def test_rerunning_a_finished_release_is_a_noop_that_says_so(world: World, tmp_path: Path) -> None:
    package = _package(tmp_path, "1.0.0")
    assert _release(world, package).outcome == "released"
    calls = len(world.invocations)
    again = _release(world, package)
    assert again.outcome == "noop"
    assert "already current in every region" in again.message
    assert len(world.invocations) == calls
    assert again.migration_id is None, "a no-op made no migration: no fresh id to show"


def test_a_canary_whose_fleet_turns_unhealthy_is_rolled_back_and_no_other_region_is_touched(
    world: World, tmp_path: Path
) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    world.broken.add("2.0.0")
    world.invocations.clear()
    report = _release(world, _package(tmp_path, "2.0.0", "broken\n"))
    assert report.outcome == "failed"
    assert "fleet unhealthy in us-east-1" in report.message and "GET /healthz answered 500" in report.message
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "not_started", "eu-west-1": "not_started"}
    assert _actions(world) == [("us-east-1", "migrate"), ("us-east-1", "rollback")]
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")
    canary = report.regions[0]
    assert "rolled back to 1.0.0" in canary.detail and canary.fleet == "2/2 on 1.0.0"


def test_a_broken_first_release_says_it_cannot_be_rolled_back_and_never_claims_it_was(
    world: World, tmp_path: Path
) -> None:
    world.broken.add("1.0.0")
    report = _release(world, _package(tmp_path, "1.0.0", "broken\n"))
    assert report.outcome == "failed"
    assert _states(report) == {"us-east-1": "rollback_failed", "us-west-2": "not_started", "eu-west-1": "not_started"}
    assert "rolled back us-east-1" not in report.message
    assert "ROLLBACK FAILED in us-east-1" in report.message
    assert "no earlier release to restore" in report.regions[0].detail


def test_an_alarm_during_the_second_regions_bake_rolls_back_both_newest_first(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    world.invocations.clear()
    _when(
        world,
        lambda: world.release_of("us-west-2") == "2.0.0",
        lambda: world.set_alarm("us-west-2", "lambda-errors", "ALARM"),
    )
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert report.outcome == "failed"
    assert world.alarm("us-west-2", "lambda-errors") in report.message
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "rolled_back", "eu-west-1": "not_started"}
    assert [(r, a) for r, a in _actions(world) if a == "rollback"] == [
        ("us-west-2", "rollback"),
        ("us-east-1", "rollback"),
    ]
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")


def test_replication_timeout_stops_before_any_region_is_migrated_naming_what_is_missing(
    world: World, tmp_path: Path, hold_replication: None
) -> None:
    report = _release(world, _package(tmp_path, "1.0.0"), replication_timeout=30.0)
    assert report.outcome == "failed"
    assert "replication did not complete within 30s" in report.message
    assert "no region was migrated" in report.message
    for region in ("us-west-2", "eu-west-1"):
        assert "artifacts/1.0.0/app.tar.gz" in report.regions[REGIONS.index(region)].detail
    assert world.invocations == []
    assert all(world.pointer(r) is None for r in REGIONS)


def test_an_alarm_already_firing_refuses_the_start(world: World, tmp_path: Path) -> None:
    world.set_alarm("eu-west-1", "in-service-low", "ALARM")
    report = _release(world, _package(tmp_path, "1.0.0"))
    assert report.outcome == "refused"
    assert f"eu-west-1: {world.alarm('eu-west-1', 'in-service-low')}" in report.message
    assert "--force" in report.message
    assert world.invocations == []


def test_force_starts_despite_a_firing_alarm_and_says_so(world: World, tmp_path: Path) -> None:
    world.set_alarm("eu-west-1", "in-service-low", "ALARM")
    report = _release(world, _package(tmp_path, "1.0.0"), force=True)
    assert report.outcome == "released", report.message
    assert "--force: ignored alarms already in ALARM" in report.message


def test_a_secondary_function_failing_rolls_back_the_regions_before_it(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"
    world.functions[world.out("eu-west-1", "function_name")]["TAPSTACK_ROLE"] = "tertiary"
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert report.outcome == "failed"
    assert _states(report) == {"us-east-1": "rolled_back", "us-west-2": "rolled_back", "eu-west-1": "failed"}
    assert "migrate answered 500" in report.regions[2].detail
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")


def test_ctrl_c_mid_rollout_rolls_back_what_was_migrated(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"

    def interrupt() -> None:
        raise KeyboardInterrupt

    _when(world, lambda: world.release_of("us-west-2") == "2.0.0", interrupt)
    report = _release(world, _package(tmp_path, "2.0.0", "v2\n"))
    assert report.outcome == "interrupted", report.message
    assert _states(report)["us-east-1"] == "rolled_back", report.regions[0].detail
    assert _states(report)["us-west-2"] == "rolled_back", report.regions[1].detail
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")


def test_ctrl_c_with_no_rollback_leaves_regions_and_a_rerun_finishes_the_release(world: World, tmp_path: Path) -> None:
    package = _package(tmp_path, "1.0.0")

    def interrupt() -> None:
        raise KeyboardInterrupt

    _when(world, lambda: world.release_of("us-west-2") == "1.0.0", interrupt)
    report = _release(world, package, rollback=False)
    assert report.outcome == "interrupted"
    assert "us-east-1, us-west-2" in report.message and "re-run" in report.message
    assert [world.release_of(r) for r in REGIONS] == ["1.0.0", "1.0.0", None]
    world.invocations.clear()
    again = _release(world, package)
    assert again.outcome == "released", again.message
    assert _states(again) == {"us-east-1": "already_current", "us-west-2": "already_current", "eu-west-1": "current"}
    assert [r for r, a in _actions(world) if a == "migrate"] == ["eu-west-1"]
    assert again.skipped == ["artifacts/1.0.0/app.tar.gz", "artifacts/1.0.0/manifest.json"]


def test_a_second_release_while_one_runs_is_refused_by_the_regional_lease(world: World, tmp_path: Path) -> None:
    second = _package(tmp_path, "3.0.0", "v3\n")
    refused: list[str] = []

    def start_second() -> None:
        with pytest.raises(ReleaseLocked) as exc:
            _release(world, second)
        refused.append(str(exc.value))

    _when(world, lambda: world.release_of(PRIMARY) == "1.0.0", start_second)
    report = _release(world, _package(tmp_path, "1.0.0"))
    assert report.outcome == "released", report.message
    assert len(refused) == 1 and "is being released by release 1.0.0" in refused[0]
    assert "this release is refused" in refused[0]
    assert {r: world.release_of(r) for r in REGIONS} == dict.fromkeys(REGIONS, "1.0.0")


def test_a_version_already_uploaded_with_other_content_is_refused_and_not_overwritten(
    world: World, tmp_path: Path
) -> None:
    first = _package(tmp_path, "1.0.0")
    assert _release(world, first).outcome == "released"
    with pytest.raises(VersionConflict, match=r"409: version 1\.0\.0 already exists"):
        _release(world, _package(tmp_path, "1.0.0", "changed\n"))
    s3, bucket = world.client("s3"), world.out(PRIMARY, "deployment_bucket")
    stored = s3.get_object(Bucket=bucket, Key="artifacts/1.0.0/manifest.json")["Body"].read()
    assert stored == first.manifest.body


def test_an_interrupted_upload_resumes_sending_only_what_is_missing(world: World, tmp_path: Path) -> None:
    package = _package(tmp_path, "1.0.0")
    archive = package.artifacts[0]
    world.client("s3").put_object(
        Bucket=world.out(PRIMARY, "deployment_bucket"),
        Key=archive.key,
        Body=archive.body,
        Metadata={"sha256": archive.sha256},
    )
    report = _release(world, package)
    assert report.outcome == "released", report.message
    assert report.skipped == [archive.key] and report.uploaded == [package.manifest.key]


def test_dry_run_prints_the_plan_and_writes_nothing(world: World, tmp_path: Path) -> None:
    s3, bucket = world.client("s3"), world.out(PRIMARY, "deployment_bucket")
    report = _release(world, _package(tmp_path, "1.0.0"), dry_run=True, parallel=2)
    assert report.outcome == "dry_run"
    assert report.plan["waves"] == [["us-east-1"], ["us-west-2", "eu-west-1"]]
    assert report.uploaded == ["artifacts/1.0.0/app.tar.gz", "artifacts/1.0.0/manifest.json"]
    assert "nothing was changed" in report.message
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert world.invocations == []


def test_an_unreachable_primary_bucket_is_one_clear_error(world: World, tmp_path: Path) -> None:
    world.outputs["use1_deployment_bucket"] = "tapstack-deploy-dev-use1-deleted"
    with pytest.raises(ReleaseError, match="tapstack-deploy-dev-use1-deleted"):
        _release(world, _package(tmp_path, "1.0.0"))


def test_an_unknown_canary_is_refused_naming_the_stacks_regions(world: World, tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"region ap-south-1 is not in the stack.*us-east-1, us-west-2, eu-west-1"):
        _release(world, _package(tmp_path, "1.0.0"), canary="ap-south-1")


def test_a_function_missing_from_the_account_fails_the_canary_with_the_invoke_error(
    world: World, tmp_path: Path
) -> None:
    world.outputs["use1_function_name"] = "tapstack-migration-use1-gone"
    report = _release(world, _package(tmp_path, "1.0.0"))
    assert report.outcome == "failed"
    assert "cannot invoke tapstack-migration-use1-gone in us-east-1" in report.regions[0].detail
    assert all(world.pointer(r) is None for r in REGIONS)


def test_a_bake_shorter_than_the_poll_ends_at_its_deadline_not_one_poll_later(world: World, tmp_path: Path) -> None:
    seen: list[tuple[float, Event]] = []
    options = Options(**{**FAST, "bake": 2.0, "poll": 5.0})  # type: ignore[arg-type]
    report = release(world.target(), _package(tmp_path, "1.0.0"), options, world.clock, seen_at(world, seen))
    assert report.outcome == "released", report.message
    first = next(i for i, (_, e) in enumerate(seen) if e.phase == "bake")
    after = next(i for i in range(first, len(seen)) if seen[i][1].phase != "bake")
    start, end = seen[first][0], seen[after][0]
    assert end - start == pytest.approx(2.0), f"the bake took {end - start:g} virtual seconds, asked 2"


def seen_at(world: World, seen: list[tuple[float, Event]]) -> Callable[[Event], None]:
    return lambda event: seen.append((world.clock.t, event))


@pytest.mark.parametrize(("bake", "poll"), [(300.0, 5.0), (60.0, 5.0), (10.0, 1.0), (2.0, 0.5), (0.0, 0.5)])
def test_the_poll_adapts_to_the_bake_a_tenth_of_it_from_half_a_second_to_five(bake: float, poll: float) -> None:
    from tapstack.release.plan import poll_for

    assert poll_for(bake) == poll
