"""Instance refresh in the simulated fleet: replace every instance of a group as Auto Scaling does.

moto has no instance refresh. AWS replaces a group's instances in batches bounded by the refresh's healthy
percentages of the desired capacity (Auto Scaling User Guide, "Instance maintenance policy overview"; the
API's RefreshPreferences, whose maximum defaults to 100 % and minimum to 90 %): at least
``MinHealthyPercentage`` (rounded up) stays in service, and at most ``MaxHealthyPercentage`` (rounded down) may
be running, so with room above the desired capacity it launches
the replacements first and terminates the old instances once the new ones are healthy; without room (a maximum
of 100 %, the default) it terminates first, always at least one instance, and launches the replacement after.
A group of one with the defaults (90 %, 100 %) therefore has no instance in service while its only instance is
replaced.

Here a refresh moves the emulator's group the same way (launch: a higher desired capacity, moto starts the new
instances from the current launch template; terminate: Auto Scaling's own call) and runs the agents in between,
and it reports how many instances served (a healthy heartbeat on a release) after every move: an outage is a
zero in that list. The preferences are those the deployed group was given (``remember``, by the Auto Scaling
adapter), AWS's defaults otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..contract import Health, Heartbeat


class _Member(Protocol):
    @property
    def last(self) -> Heartbeat | None: ...


class _Target(Protocol):
    @property
    def asg_name(self) -> str: ...


class Fleet(Protocol):
    """What a refresh uses of ``fleet.Fleet`` (which calls it: no import back)."""

    @property
    def targets(self) -> Mapping[str, _Target]: ...

    @property
    def emulator(self) -> Any: ...

    @property
    def admin(self) -> Any: ...

    def sync(self, region: str) -> Sequence[_Member]: ...

    def converge(self, region: str) -> Sequence[Heartbeat]: ...


DEFAULT_MIN_HEALTHY = 90
DEFAULT_MAX_HEALTHY = 100


@dataclass(frozen=True)
class Preferences:
    min_healthy_percentage: int = DEFAULT_MIN_HEALTHY
    max_healthy_percentage: int = DEFAULT_MAX_HEALTHY

    def bounds(self, desired: int) -> tuple[int, int]:
        """(instances that must stay in service, instances that may run at once) for a desired capacity."""
        return math.ceil(desired * self.min_healthy_percentage / 100), max(
            desired, desired * self.max_healthy_percentage // 100
        )


_preferences: dict[tuple[str, str, str], Preferences] = {}


def remember(account_id: str, region: str, group: str, min_healthy: int | None, max_healthy: int | None) -> None:
    """The refresh preferences a group was deployed with (None: AWS's default for that one)."""
    _preferences[(account_id, region, group)] = Preferences(
        DEFAULT_MIN_HEALTHY if min_healthy is None else int(min_healthy),
        DEFAULT_MAX_HEALTHY if max_healthy is None else int(max_healthy),
    )


def preferences_of(account_id: str, region: str, group: str) -> Preferences:
    return _preferences.get((account_id, region, group), Preferences())


_refreshes: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
"""(account, region, group) -> its refreshes, newest first, as DescribeInstanceRefreshes lists them."""


def describe_instance_refreshes(response: Any) -> Any:
    """moto's AutoScalingResponse has no DescribeInstanceRefreshes: this answers it from the refreshes run here.

    AWS lists a group's refreshes newest first with ``InstanceRefreshId``, ``AutoScalingGroupName`` and
    ``Status`` (Pending, InProgress, Successful, ...) (Amazon EC2 Auto Scaling API Reference,
    DescribeInstanceRefreshes).
    """
    from moto.core.responses import ActionResult

    group = str(response._get_param("AutoScalingGroupName"))
    found = _refreshes.get((str(response.current_account), str(response.region), group), [])
    return ActionResult({"InstanceRefreshes": [dict(r) for r in found]})


def serving(fleet: Fleet, region: str) -> int:
    """Instances of the region's group now running whose last agent pass reported a healthy release."""
    return sum(
        1
        for m in fleet.sync(region)
        if m.last is not None and m.last.health == Health.HEALTHY and m.last.release is not None
    )


def refresh(fleet: Fleet, region: str, preferences: Preferences | None = None) -> list[int]:
    """Replace every instance of the region's group; the serving count before and after each move."""
    target = fleet.targets[region]
    autoscaling = fleet.admin("autoscaling", region)
    prefs = preferences or preferences_of(str(fleet.emulator.account_id), region, target.asg_name)

    def group() -> dict[str, Any]:
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[target.asg_name])
        return dict(found["AutoScalingGroups"][0])

    def active() -> list[str]:
        return [str(i["InstanceId"]) for i in group()["Instances"] if i["LifecycleState"] == "InService"]

    desired = int(group()["DesiredCapacity"])
    keep, most = prefs.bounds(desired)
    listed = _refreshes.setdefault((str(fleet.emulator.account_id), region, target.asg_name), [])
    entry = {"InstanceRefreshId": f"refresh-{len(listed) + 1}", "AutoScalingGroupName": target.asg_name}
    listed.insert(0, {**entry, "Status": "InProgress"})  # what a release's preflight sees while it runs
    try:
        observed = _replace(fleet, region, autoscaling, target.asg_name, keep, most, active)
    except BaseException:
        listed[0]["Status"] = "Failed"
        raise
    listed[0]["Status"] = "Successful"
    return observed


def _replace(
    fleet: Fleet, region: str, autoscaling: Any, group: str, keep: int, most: int, active: Callable[[], list[str]]
) -> list[int]:
    old = active()
    observed = [serving(fleet, region)]
    while old:
        running = len(active())
        if most > running:
            batch = old[: most - running]
            autoscaling.set_desired_capacity(
                AutoScalingGroupName=group, DesiredCapacity=running + len(batch), HonorCooldown=False
            )
            observed.append(serving(fleet, region))
            fleet.converge(region)
            observed.append(serving(fleet, region))
            for instance in batch:
                autoscaling.terminate_instance_in_auto_scaling_group(
                    InstanceId=instance, ShouldDecrementDesiredCapacity=True
                )
        else:
            batch = old[: max(1, min(len(old), running - keep))]
            for instance in batch:  # the group launches each replacement at once; it serves after its boot
                autoscaling.terminate_instance_in_auto_scaling_group(
                    InstanceId=instance, ShouldDecrementDesiredCapacity=False
                )
            observed.append(serving(fleet, region))
        fleet.converge(region)
        observed.append(serving(fleet, region))
        old = old[len(batch) :]
    return observed
