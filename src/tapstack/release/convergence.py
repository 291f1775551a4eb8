"""Has a region's fleet converged? InService instances of the group against their agents' heartbeats.

The heartbeats (``fleet/heartbeats/<aws:userid>.json``, never replicated) are the fleet's own account: an
instance counts as converged when its latest heartbeat is fresh, healthy and on the expected release. An
instance that reports ``unhealthy`` after the migration started has already reverted itself (the agent's
job); that is a failed stage at once, not something to wait out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from ..contract import HEARTBEAT_PREFIX, Health, Heartbeat
from .outputs import RegionOutputs

FRESH = timedelta(seconds=120)
_SHOWN = 3


@dataclass(frozen=True)
class FleetView:
    in_service: tuple[str, ...]
    heartbeats: dict[str, Heartbeat]


@dataclass(frozen=True)
class Assessment:
    state: Literal["converged", "waiting", "unhealthy"]
    detail: str
    ready: int
    total: int
    release: str = ""
    """The release the fleet was assessed against: what ``ready`` instances serve."""
    instances: tuple[str, ...] = ()
    """The InService instances assessed: those a converged stage reached, launched since it began included."""

    @property
    def summary(self) -> str:
        return f"{self.ready}/{self.total} on {self.release}" if self.total else "no instances"


def in_service(autoscaling: Any, region: RegionOutputs) -> tuple[str, ...]:
    """The group's InService instance ids, sorted; none for a region without compute."""
    if region.asg_name is None:
        return ()
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[region.asg_name])["AutoScalingGroups"]
    instances = [i for g in groups for i in g.get("Instances", [])]
    return tuple(sorted(i["InstanceId"] for i in instances if i.get("LifecycleState") == "InService"))


def read_fleet(s3: Any, autoscaling: Any, region: RegionOutputs) -> FleetView | None:
    """The fleet as it is now, or None for a region without compute (nothing there runs a release)."""
    if region.asg_name is None:
        return None
    serving = in_service(autoscaling, region)
    beats: dict[str, Heartbeat] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=region.bucket, Prefix=HEARTBEAT_PREFIX)
    for page in pages:
        for item in page.get("Contents", []):
            try:
                body = s3.get_object(Bucket=region.bucket, Key=item["Key"])["Body"].read()
                beat = Heartbeat.from_json(json.loads(body))
            except (ClientError, ValueError):
                continue  # deleted between list and get, or half-written junk: the next poll reads it again
            if beat is None:
                continue
            seen, at = beats.get(beat.instance_id), beat.seen_at
            if seen is None or (at and (seen.seen_at is None or at > seen.seen_at)):
                beats[beat.instance_id] = beat
    return FleetView(serving, beats)


def _listed(items: list[str]) -> str:
    return "; ".join(items[:_SHOWN]) + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def assess(
    view: FleetView | None,
    release: str,
    since: datetime,
    now: datetime,
    fail_fast: bool,
    expect: Callable[[str], str] | None = None,
) -> Assessment:
    """``fail_fast``: an unhealthy report newer than ``since`` fails at once (going forward); when going back
    it is not, since the instance may still be finishing a cycle that started before the rollback.
    ``expect``: the release each instance should serve during a staged rollout (default: ``release`` for all)."""
    if view is None:
        return Assessment("converged", "no compute in this region", 0, 0)
    behind: list[str] = []
    unhealthy: list[str] = []
    for instance in view.in_service:
        beat = view.heartbeats.get(instance)
        if beat is None:
            behind.append(f"{instance}: no heartbeat yet")
            continue
        at = beat.seen_at
        recent = at is not None and at >= since
        if beat.health == Health.UNHEALTHY and recent:
            unhealthy.append(f"{instance} unhealthy on {beat.release or 'no release'}: {beat.reason or 'no reason'}")
        elif at is None or now - at > FRESH:
            last = at.isoformat() if at else "unreadable"
            behind.append(f"{instance}: last heartbeat {last}")
        elif beat.release != (expect(instance) if expect else release) or beat.health != Health.HEALTHY:
            behind.append(f"{instance}: on {beat.release or 'no release'} ({beat.health})")
    total = len(view.in_service)
    ready = total - len(behind) - len(unhealthy)
    if unhealthy and fail_fast:
        return Assessment("unhealthy", _listed(unhealthy), ready, total, release)
    if behind or unhealthy:
        return Assessment("waiting", _listed(unhealthy + behind), ready, total, release)
    on = f"{release} or the release outside its cohort" if expect else release
    return Assessment("converged", f"{total}/{total} healthy on {on}", total, total, release, view.in_service)
