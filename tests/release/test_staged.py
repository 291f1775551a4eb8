"""Staged releases inside a region (moto + the real handler + agents following the cohort rule), 4 instances each.

A failure at any stage rolls back that region's cohorts and every earlier region, an instance launched
mid-rollout joins the right cohort, and no release starts beside an instance refresh. One box then the rest on
the real agents: tests/release/test_emulator.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tapstack.contract import ROLLOUT, in_cohort
from tapstack.emulator import instance_refresh
from tapstack.release import Options, ReleaseReport, release
from tapstack.release.package import Package
from tests.release.helpers import ACCOUNT, PRIMARY, REGIONS, World, make_world
from tests.release.test_orchestrate import FAST, _package, _states, _when

INSTANCES = 4


@pytest.fixture
def fleet4(moto_world: None) -> Iterator[World]:
    yield make_world(instances=INSTANCES)


def _release(world: World, package: Package, **options: object) -> ReleaseReport:
    return release(world.target(), package, Options(**{**FAST, **options}), world.clock)  # type: ignore[arg-type]


def _on_first_release(world: World, tmp_path: Path) -> None:
    assert _release(world, _package(tmp_path, "1.0.0")).outcome == "released"


def _served(world: World) -> set[str | None]:
    return set(world.running.values())


def test_a_broken_release_stops_at_the_canarys_one_box_and_every_instance_keeps_the_previous_release(
    fleet4: World, tmp_path: Path
) -> None:
    _on_first_release(fleet4, tmp_path)
    fleet4.broken.add("2.0.0")
    report = _release(fleet4, _package(tmp_path, "2.0.0", "print('broken')\n"), batches=(0.0, 100.0))
    assert report.outcome == "failed"
    canary = report.regions[0]
    assert [(s["name"], s["outcome"]) for s in canary.stages] == [("one_box", "failed")]
    assert all(not r.stages for r in report.regions[1:])
    assert len(fleet4.tried["2.0.0"]) == 1, "at most one instance ever ran the broken release"
    assert _states(report) == {PRIMARY: "rolled_back", "us-west-2": "not_started", "eu-west-1": "not_started"}
    assert all(ROLLOUT not in (fleet4.pointer(r) or {}) and fleet4.release_of(r) == "1.0.0" for r in REGIONS)
    assert _served(fleet4) == {"1.0.0"}


def test_an_alarm_during_a_later_batch_rolls_back_that_regions_cohorts_and_the_earlier_region(
    fleet4: World, tmp_path: Path
) -> None:
    _on_first_release(fleet4, tmp_path)

    def second_region_half_way() -> bool:
        rollout = (fleet4.pointer("us-west-2") or {}).get(ROLLOUT) or {}
        return rollout.get("stage") == "batch"

    _when(fleet4, second_region_half_way, lambda: fleet4.set_alarm("us-west-2", "lambda-errors", "ALARM"))
    try:
        report = _release(fleet4, _package(tmp_path, "2.0.0"), batches=(0.0, 50.0, 100.0))
    finally:
        fleet4.set_alarm("us-west-2", "lambda-errors", "OK")
    assert report.outcome == "failed" and "lambda-errors" in report.message
    second = report.regions[1]
    assert [(s["name"], s["outcome"]) for s in second.stages] == [("one_box", "passed"), ("batch", "failed")]
    assert _states(report) == {PRIMARY: "rolled_back", "us-west-2": "rolled_back", "eu-west-1": "not_started"}
    assert all(ROLLOUT not in (fleet4.pointer(r) or {}) and fleet4.release_of(r) == "1.0.0" for r in REGIONS)
    assert _served(fleet4) == {"1.0.0"}


def test_an_instance_launched_mid_rollout_joins_the_cohort_its_id_places_it_in(fleet4: World, tmp_path: Path) -> None:
    _on_first_release(fleet4, tmp_path)
    autoscaling = fleet4.client("autoscaling", PRIMARY)
    group = fleet4.out(PRIMARY, "asg_name")
    seen: dict[str, tuple[str | None, bool]] = {}

    def staged() -> bool:
        return isinstance((fleet4.pointer(PRIMARY) or {}).get(ROLLOUT), dict)

    def scale_out() -> None:
        before = set(fleet4.running)
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, MaxSize=5, DesiredCapacity=5)
        fleet4.run_agents()
        rollout = (fleet4.pointer(PRIMARY) or {})[ROLLOUT]
        for new in set(fleet4.running) - before:
            seen[new] = (fleet4.running[new], in_cohort(new, "2.0.0", rollout["bound"]))

    _when(fleet4, staged, scale_out)
    report = _release(fleet4, _package(tmp_path, "2.0.0"), batches=(0.0, 100.0))
    assert report.outcome == "released", report.message
    assert len(seen) == 1
    ((serving, inside),) = seen.values()
    assert serving == ("2.0.0" if inside else "1.0.0")
    assert len(report.regions[0].stages[-1]["instances"]) == INSTANCES + 1, "the last stage counted it"
    assert _served(fleet4) == {"2.0.0"}


def test_no_release_starts_while_a_group_is_refreshing_and_the_preflight_says_so(
    fleet4: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on_first_release(fleet4, tmp_path)
    group = fleet4.out("us-west-2", "asg_name")
    under_way = {"InstanceRefreshId": "refresh-1", "AutoScalingGroupName": group, "Status": "InProgress"}
    monkeypatch.setitem(instance_refresh._refreshes, (ACCOUNT, "us-west-2", group), [under_way])
    report = _release(fleet4, _package(tmp_path, "2.0.0"), batches=(0.0, 100.0))
    assert report.outcome == "refused"
    assert f"us-west-2: instance refresh refresh-1 of {group} is InProgress" in report.message
    assert all(fleet4.release_of(r) == "1.0.0" for r in REGIONS) and not any(r.stages for r in report.regions)
