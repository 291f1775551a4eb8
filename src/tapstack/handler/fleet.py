"""The region's fleet as the function sees it: the Auto Scaling group's instances against their heartbeats.

The group says which instances are InService; each instance's agent writes
``fleet/heartbeats/<role id>:<instance id>.json`` every 30 s, saying which release it serves and whether its
health check passes. An instance serves the current release when its newest heartbeat is fresh (younger than
``heartbeat_fresh_seconds``: 120 unless configured), healthy, and for that release. One that does not is
"failing" once it has run longer than the grace period (boot, install, first health check), and "within grace"
before that, so a scale-out in progress does not turn validate red. The heartbeat's key and its body must name the same
instance: the instance role can only write its own key, so a mismatch is a damaged or forged heartbeat.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tapstack.contract import HEARTBEAT_PREFIX, TooLarge, followed, heartbeat_instance

from .clock import iso, now, parse_iso
from .services import Services
from .settings import ARTIFACT_WORKERS, ENV_ASG_NAME, MAX_HEARTBEAT_BYTES, Settings
from .store import Bucket

_DESCRIBE_BATCH = 100
_LISTED = 5
"""Failing instances named in a one-line detail; the section lists them all."""


class Unavailable(Exception):
    """The fleet cannot be surveyed (the group named by the environment does not exist)."""


@dataclass(frozen=True)
class Fleet:
    section: dict[str, Any]
    failing: tuple[str, ...]
    """``i-... (why)`` for each InService instance past its grace period that does not serve the release."""
    detail: str


def survey(svc: Services, current: dict[str, Any] | None) -> Fleet:
    """The fleet section for replies; AWS errors propagate (the caller decides what a failure means)."""
    settings = svc.settings
    release = current.get("release") if current else None
    base: dict[str, Any] = {
        "region": settings.region,
        "asg_name": settings.asg_name or None,
        "release": release,
        "grace_seconds": settings.fleet_grace_seconds,
        "fresh_seconds": settings.heartbeat_fresh_seconds,
    }
    if not settings.asg_name:
        detail = f"no Auto Scaling group in this region ({ENV_ASG_NAME} is empty: compute is off); nothing to check"
        return Fleet({**base, "instances": [], "summary": detail}, (), detail)
    groups = svc.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[settings.asg_name])
    found = groups.get("AutoScalingGroups", [])
    if not found:
        raise Unavailable(f"Auto Scaling group {settings.asg_name} ({ENV_ASG_NAME}) does not exist")
    members = found[0].get("Instances", [])
    in_service = [m["InstanceId"] for m in members if m.get("LifecycleState") == "InService"]
    launched = _launch_times(svc, in_service)
    heartbeats, others = _heartbeats(svc.bucket, set(in_service))
    moment = now()
    # During a staged rollout each instance serves the rollout's release or the region's, by its cohort.
    expected = {
        m["InstanceId"]: followed(current, m["InstanceId"]).get("release") if current else None for m in members
    }
    instances = [_instance(m, launched, heartbeats, expected[m["InstanceId"]], settings, moment) for m in members]
    counts = {
        state: sum(1 for i in instances if i["state"] == state) for state in ("serving", "within_grace", "failing")
    }
    failing = tuple(f"{i['instance_id']} ({i['reason']})" for i in instances if i["state"] == "failing")
    detail = _detail(release, len(in_service), counts, failing, settings.fleet_grace_seconds)
    section = {
        **base,
        "in_service": len(in_service),
        **counts,
        "instances": instances,
        "other_heartbeats": others,
        "summary": detail,
    }
    return Fleet(section, failing, detail)


def _detail(release: object, in_service: int, counts: dict[str, int], failing: tuple[str, ...], grace: int) -> str:
    if release is None:
        return f"no release is current yet: {in_service} InService instance(s), nothing to converge to"
    text = f"{counts['serving']}/{in_service} InService instance(s) serve release {release}, healthy"
    if counts["within_grace"]:
        text += f"; {counts['within_grace']} within the {grace} s grace period"
    if failing:
        named = ", ".join(failing[:_LISTED]) + (f" and {len(failing) - _LISTED} more" if len(failing) > _LISTED else "")
        text += f"; {len(failing)} past the grace period do not: {named}"
    return text


def _launch_times(svc: Services, instance_ids: list[str]) -> dict[str, datetime]:
    times: dict[str, datetime] = {}
    for start in range(0, len(instance_ids), _DESCRIBE_BATCH):
        batch = instance_ids[start : start + _DESCRIBE_BATCH]
        pages = svc.ec2.get_paginator("describe_instances").paginate(InstanceIds=batch)
        for page in pages:
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    if isinstance(instance.get("LaunchTime"), datetime):
                        times[instance["InstanceId"]] = instance["LaunchTime"]
    return times


def _heartbeats(bucket: Bucket, wanted: set[str]) -> tuple[dict[str, dict[str, Any]], int]:
    """Each wanted instance's newest heartbeat (read), and how many heartbeat keys belong to no such instance."""
    newest: dict[str, tuple[datetime, str]] = {}
    others = 0
    for listed in bucket.listing(HEARTBEAT_PREFIX):
        instance = heartbeat_instance(listed.key)
        if instance is None or instance not in wanted:
            others += 1
            continue
        kept = newest.get(instance)
        if kept is None or listed.last_modified > kept[0]:
            if kept is not None:
                others += 1
            newest[instance] = (listed.last_modified, listed.key)
        else:
            others += 1
    items = sorted(newest.items())
    workers = max(1, min(ARTIFACT_WORKERS, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="heartbeat") as pool:
        read = list(pool.map(lambda item: _heartbeat(bucket, item[1][1], item[0]), items))
    return {instance: beat for (instance, _), beat in zip(items, read, strict=True)}, others


def _heartbeat(bucket: Bucket, key: str, instance: str) -> dict[str, Any]:
    """The heartbeat as reported, with ``problem`` when it cannot be trusted or read."""
    beat: dict[str, Any] = {"key": key, "release": None, "health": None, "reason": None, "last_seen": None}
    try:
        stored = bucket.read(key, limit=MAX_HEARTBEAT_BYTES)
    except TooLarge as exc:
        return {**beat, "problem": f"heartbeat is {exc.size} bytes (a heartbeat is under {MAX_HEARTBEAT_BYTES})"}
    if stored is None:
        return {**beat, "problem": "heartbeat disappeared while being read"}
    try:
        doc = json.loads(stored.body)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        return {**beat, "problem": "heartbeat is not a JSON object"}
    if doc.get("instance_id") != instance:
        return {
            **beat,
            "problem": f"heartbeat body names instance {str(doc.get('instance_id'))[:40]!r}, its key {instance}",
        }
    seen = parse_iso(doc.get("timestamp"))
    return {
        **beat,
        "release": doc.get("release") if isinstance(doc.get("release"), str) else None,
        "health": str(doc.get("health"))[:20],
        "reason": str(doc.get("reason") or "")[:300],
        "last_seen": iso(seen) if seen else None,
        "problem": None if seen else "heartbeat has no readable timestamp",
    }


def _instance(
    member: dict[str, Any],
    launched: dict[str, datetime],
    heartbeats: dict[str, dict[str, Any]],
    release: object,
    settings: Settings,
    moment: datetime,
) -> dict[str, Any]:
    instance_id = member["InstanceId"]
    launch = launched.get(instance_id)
    beat = heartbeats.get(instance_id)
    seen = parse_iso(beat.get("last_seen")) if beat else None
    entry: dict[str, Any] = {
        "instance_id": instance_id,
        "lifecycle_state": member.get("LifecycleState"),
        "health_status": member.get("HealthStatus"),
        "launched_at": iso(launch) if launch else None,
        "heartbeat": None if beat is None else {**beat, "age_seconds": _age(seen, moment)},
    }
    if member.get("LifecycleState") != "InService":
        return {**entry, "state": "not_in_service", "reason": f"lifecycle state {member.get('LifecycleState')}"}
    if release is None:
        return {**entry, "state": "no_release", "reason": "no release is current"}
    reason = _why_not_serving(beat, seen, release, settings.heartbeat_fresh_seconds, moment)
    if reason is None:
        return {**entry, "state": "serving", "reason": ""}
    age = _age(launch, moment)
    if age is not None and age < settings.fleet_grace_seconds:
        return {**entry, "state": "within_grace", "reason": f"{reason}; launched {age} s ago"}
    return {**entry, "state": "failing", "reason": reason if launch else f"{reason}; launch time unknown"}


def _why_not_serving(
    beat: dict[str, Any] | None, seen: datetime | None, release: object, fresh: int, moment: datetime
) -> str | None:
    if beat is None:
        return "no heartbeat"
    if beat["problem"]:
        return str(beat["problem"])
    age = _age(seen, moment)
    if age is None or age >= fresh:
        return f"last heartbeat {age} s ago (fresh is under {fresh} s)"
    if beat["release"] != release:
        return f"serves release {beat['release'] or 'none'}, not {release}"
    if beat["health"] != "healthy":
        return f"{beat['health']}: {beat['reason'] or 'no reason given'}"
    return None


def _age(moment: datetime | None, reference: datetime) -> int | None:
    return None if moment is None else max(0, int((reference - moment).total_seconds()))
