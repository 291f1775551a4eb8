"""What a change to a deployed stack does: the deployed graph against the new one, resource by resource.

`tapstack diff`, `check --against` (TAP013), `report --against` and `up --local --against` all read this. It says
offline what `pulumi preview --diff` says with an account and the provider plugin: which resources are created,
updated in place, replaced (naming the input that forces it, from the type registry's ``ForcesNew`` table) or
deleted; which of those destroy data (the registry's ``holds``); and what an update does to the serving fleet and
to replication.

Resources are matched by URN, then by alias, as the engine matches them: a refactor that only moves resources is
no change. Synth derives ids from logical names, so a replaced resource keeps its id in the new graph, where a
real preview sees the id unknown until the replacement exists; so an input of a dependent that names a replaced
resource (its id or ARN) counts as changed here too, and replaces the dependent when that input forces it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .graph import PROVIDER_PREFIX, SECRET_PLACEHOLDER, Graph, Resource, short_type
from .lib import names
from .resource_types import ASG, BUCKET, BUCKET_REPLICATION, BUCKET_V2, LAUNCH_TEMPLATE, PARTITION, lookup

AWS_PROVIDER = f"{PROVIDER_PREFIX}aws"
BUCKETS = (BUCKET, BUCKET_V2)

DEFAULT_MIN_HEALTHY = 90
"""Instance refresh's minimum healthy percentage when the group sets none (Auto Scaling API, RefreshPreferences)."""
DEFAULT_MAX_HEALTHY = 100
"""Instance refresh's maximum healthy percentage when the group sets none: no instance launched ahead."""
REFRESH_TRIGGERS = ("launchTemplate", "mixedInstancesPolicy")
"""ASG inputs whose change starts the configured instance refresh (the provider's instance_refresh block)."""

BUCKET_ROLES = {
    names.DEPLOY_BUCKET.what: "deployment bucket: every release's artifacts and migration records",
    names.LOGS_BUCKET.what: "log bucket: the access logs of the region's buckets",
    names.DATA_BUCKET.what: "data bucket: the application's objects",
}
"""What a TapStack bucket holds, by its name catalogue entry (its logical name ends in ``<what>``: ``use1-deploy``)."""


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One resource that a deploy of the new graph would touch."""

    urn: str
    type: str
    name: str
    region: str | None
    action: Action
    properties: tuple[str, ...] = ()
    """Changed inputs (for create and delete: none)."""
    replaces_because: tuple[str, ...] = ()
    """The inputs that force the replacement (``region`` when the resource moves to another region)."""
    stateful: bool = False
    at_risk: str | None = None
    """What the resource holds, named for a reader: destroyed when a stateful resource is replaced or deleted."""
    notes: tuple[str, ...] = ()

    @property
    def destructive(self) -> bool:
        return self.stateful and self.action in (Action.REPLACE, Action.DELETE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "action": self.action.value,
            "properties": list(self.properties),
            "replaces_because": list(self.replaces_because),
            "stateful": self.stateful,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    unchanged: int

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return {**counts, "unchanged": self.unchanged, "destructive": len(self.destructive)}

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes], "summary": self.summary()}


@dataclass(frozen=True)
class Refresh:
    """An instance refresh of one Auto Scaling group, as its inputs configure it."""

    group: str
    desired: int
    min_size: int
    max_size: int
    min_healthy: int
    max_healthy: int

    @property
    def lowest_in_service(self) -> int:
        """The fewest instances in service during the refresh. AWS keeps ``min_healthy`` percent of the desired
        capacity (rounded up) and may launch ahead up to ``max_healthy`` percent (rounded down); when the
        minimum is the whole group and nothing may be launched ahead, it still replaces one instance at a time,
        terminating before launching."""
        keep = math.ceil(self.desired * self.min_healthy / 100)
        if keep < self.desired:
            return keep
        ahead = math.floor(self.desired * self.max_healthy / 100) - self.desired
        return self.desired if ahead > 0 else max(self.desired - 1, 0)

    @property
    def keeps_serving(self) -> bool:
        return self.lowest_in_service >= 1

    def note(self, region: str | None) -> str:
        where = region or "the group's region"
        head = (
            f"instance refresh of {self.group}: {self.desired} instance(s) desired (min {self.min_size}, max "
            f"{self.max_size}), healthy {self.min_healthy}%-{self.max_healthy}% of desired while it runs"
        )
        if self.keeps_serving:
            return f"{head}: never fewer than {self.lowest_in_service} in service, so {where} keeps serving"
        return (
            f"{head}: {self.lowest_in_service} in service at its lowest, so {where} stops serving until a new "
            "instance passes its health check"
        )


def _number(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return int(float(value))
    except ValueError:
        return default


def refresh_of(group: Resource) -> Refresh | None:
    """The refresh a launch template change starts in ``group``; None when the group configures none."""
    configured = group.inputs.get("instanceRefresh")
    if not isinstance(configured, dict):
        return None
    prefs = configured.get("preferences")
    prefs = prefs if isinstance(prefs, dict) else {}
    min_size = _number(group.inputs.get("minSize"), 0)
    return Refresh(
        group=str(group.inputs.get("name") or group.name),
        desired=_number(group.inputs.get("desiredCapacity"), min_size),
        min_size=min_size,
        max_size=_number(group.inputs.get("maxSize"), min_size),
        min_healthy=_number(prefs.get("minHealthyPercentage"), DEFAULT_MIN_HEALTHY),
        max_healthy=_number(prefs.get("maxHealthyPercentage"), DEFAULT_MAX_HEALTHY),
    )


def _tracked(graph: Graph) -> list[Resource]:
    """What a deploy creates, updates or deletes: custom resources (AWS ones and providers), not components."""
    return [r for r in graph.resources if r.custom]


def _comparable(value: Any) -> Any:
    """An input as the engine compares it. A file asset or archive is compared by its file name: the engine diffs
    its contents, and the program keeps its build products under a name that carries their content hash
    (``build/lambda/migration-<sha>``), while the directory differs between checkouts (main's and the branch's)."""
    if isinstance(value, dict):
        out = {k: _comparable(v) for k, v in value.items()}
        if "$asset" in out and isinstance(out.get("path"), str):
            out["path"] = out["path"].replace("\\", "/").rsplit("/", 1)[-1]
        return out
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if _comparable(old.get(k)) != _comparable(new.get(k)))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _references(resource: Resource) -> set[str]:
    """The values by which other resources name this one (what a replacement makes unknown)."""
    found = {resource.outputs.get(k) for k in ("id", "arn")}
    return {v for v in found if isinstance(v, str) and len(v) > 3 and v != SECRET_PLACEHOLDER}


def _at_risk(resource: Resource) -> str | None:
    known = lookup(resource.type)
    if known is None or known.holds is None:
        return None
    if known.naming is not None and known.naming.prop == "bucket":
        role = next((text for what, text in BUCKET_ROLES.items() if resource.name.split("-")[-1] == what), None)
        if role is not None:
            return role
    return f"{known.title or short_type(resource.type)} {resource.name}: {known.holds}"


def _forces(resource_type: str) -> tuple[str, ...] | None:
    known = lookup(resource_type)
    return known.replaced_by.props if known is not None and known.replaced_by is not None else None


@dataclass
class _Draft:
    old: Resource | None
    new: Resource | None
    properties: set[str] = field(default_factory=set)
    because: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    @property
    def resource(self) -> Resource:
        found = self.new or self.old
        assert found is not None
        return found

    @property
    def action(self) -> Action | None:
        if self.old is None:
            return Action.CREATE
        if self.new is None:
            return Action.DELETE
        if self.because:
            return Action.REPLACE
        return Action.UPDATE if self.properties else None


def _pair(old: Graph, new: Graph) -> list[_Draft]:
    """Each new resource with the deployed one it takes over (its URN, else its first unclaimed alias)."""
    deployed = {r.urn: r for r in _tracked(old)}
    claimed: set[str] = set()
    drafts: list[_Draft] = []
    for resource in _tracked(new):
        match = next((u for u in (resource.urn, *resource.aliases) if u in deployed and u not in claimed), None)
        if match is not None:
            claimed.add(match)
        drafts.append(_Draft(deployed.get(match) if match else None, resource))
    drafts.extend(_Draft(r, None) for r in _tracked(old) if r.urn not in claimed)
    return drafts


def _compare(draft: _Draft) -> None:
    old, new = draft.old, draft.new
    if old is None or new is None:
        return
    changed = _changed(old.inputs, new.inputs)
    draft.properties.update(changed)
    forces = _forces(new.type)
    if forces is None and changed and new.type.startswith("aws:"):
        draft.notes.append(f"{new.type} has no replacement table in the type registry: a change may replace it")
    draft.because.update(p for p in changed if forces and p in forces)
    if old.region != new.region:
        draft.because.add("region")
        draft.properties.add("region")


def _cascade(drafts: list[_Draft]) -> None:
    """Replacements reach the dependents that reference the replaced resource (see the module docstring)."""
    dependents: dict[str, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        if draft.new is not None and draft.old is not None:
            for dep in draft.new.dependencies:
                dependents[dep].append(draft)
    queue = [d for d in drafts if d.action is Action.REPLACE and d.new is not None]
    while queue:
        replaced = queue.pop()
        assert replaced.new is not None and replaced.old is not None
        refs = _references(replaced.old)
        for dependent in dependents.get(replaced.new.urn, []):
            assert dependent.new is not None
            hit = sorted(k for k, v in dependent.new.inputs.items() if any(r in s for s in _strings(v) for r in refs))
            if not hit:
                continue
            was_replaced = dependent.action is Action.REPLACE
            dependent.properties.update(hit)
            forces = _forces(dependent.new.type) or ()
            forced = [k for k in hit if k in forces]
            dependent.because.update(forced)
            dependent.notes.append(
                f"{', '.join(hit)} names {short_type(replaced.new.type)} {replaced.new.name}, which is replaced"
            )
            if forced and not was_replaced:
                queue.append(dependent)


def _launch_version(group: Resource) -> str | None:
    for key in REFRESH_TRIGGERS:
        for found in _values(group.inputs.get(key), "version"):
            return str(found)
    return None


def _values(value: Any, key: str) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, item in value.items():
            if k == key:
                yield item
            else:
                yield from _values(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item, key)


def _rollouts(drafts: list[_Draft], new: Graph) -> None:
    """A launch template update moves every group tracking its latest version (an ASG update the graph cannot
    show: synth answers version 1 every time) and so starts the group's instance refresh."""
    by_urn = {d.new.urn: d for d in drafts if d.new is not None}
    groups = new.of_type(ASG)
    for draft in drafts:
        template = draft.new
        if template is None or template.type != LAUNCH_TEMPLATE or draft.action not in (Action.UPDATE, Action.REPLACE):
            continue
        latest = template.outputs.get("latestVersion")
        for group in (g for g in groups if template.urn in g.dependencies):
            version = _launch_version(group)
            group_name = group.inputs.get("name") or group.name
            if draft.action is Action.UPDATE and version in ("$Latest", "$Default"):
                draft.notes.append(
                    f"{group_name} launches with version {version}: new instances get the change, running ones keep "
                    "the old template (no instance refresh is started)"
                )
                continue
            if draft.action is Action.UPDATE and latest is not None and version != str(_number(latest, -1)):
                draft.notes.append(f"{group_name} is pinned to version {version}: it does not take this change")
                continue
            if refresh_of(group) is None:
                draft.notes.append(f"{group_name} configures no instance refresh: only new instances get the change")
            else:
                draft.notes.append(f"rolls out through an instance refresh of {group_name}")
            target = by_urn.get(group.urn)
            if target is not None and target.old is not None and draft.action is Action.UPDATE:
                target.properties.add(next((k for k in REFRESH_TRIGGERS if k in group.inputs), REFRESH_TRIGGERS[0]))
                target.notes.append(f"its launch template {template.name} gets a new version")


def _refresh_notes(drafts: Iterable[_Draft]) -> None:
    for draft in drafts:
        group = draft.new
        if group is None or group.type != ASG or draft.action is not Action.UPDATE:
            continue
        if not draft.properties & set(REFRESH_TRIGGERS):
            continue
        refresh = refresh_of(group)
        if refresh is None:
            draft.notes.append(
                "no instance refresh configured: running instances keep the old launch template until replaced"
            )
        elif not any(n.startswith("instance refresh of") for n in draft.notes):
            draft.notes.append(refresh.note(group.region))


def _regions(graph: Graph) -> list[str]:
    found = {r.inputs.get("region") for r in graph.resources if r.type == AWS_PROVIDER}
    return sorted(r for r in found if isinstance(r, str))


@dataclass(frozen=True)
class _Rule:
    source: str
    prefix: str
    urn: str


def _replication(graph: Graph) -> dict[str, _Rule]:
    """Enabled replication rules by destination bucket ARN."""
    rules: dict[str, _Rule] = {}
    for config in graph.of_type(BUCKET_REPLICATION):
        for rule in config.inputs.get("rules") or []:
            if not isinstance(rule, dict) or rule.get("status") != "Enabled":
                continue
            dest = _dig(rule, "destination", "bucket")
            filt = rule.get("filter")
            filt = filt if isinstance(filt, dict) else {}
            if isinstance(dest, str):
                prefix = str(filt.get("prefix") or rule.get("prefix") or "")
                rules[dest] = _Rule(str(config.inputs.get("bucket")), prefix, config.urn)
    return rules


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _region_of_bucket(arn: str, graph: Graph) -> str:
    name = arn.rsplit(":", 1)[-1]
    return next((r.region or "?" for r in graph.aws_resources() if r.outputs.get("bucket") == name), name)


def _replication_notes(drafts: list[_Draft], old: Graph, new: Graph) -> None:
    """Which releases must be re-replicated: S3 replicates only objects written after a rule takes effect (and
    never replicas of another rule), so what a changed rule now covers is copied only by S3 Batch Replication."""
    by_urn = {d.resource.urn: d for d in drafts}
    before, after = _replication(old), _replication(new)
    primary_before, primary_after = old.outputs.get("primary_region"), new.outputs.get("primary_region")
    joined = sorted(set(_regions(new)) - set(_regions(old)))
    emptied = {
        str(d.new.inputs.get("bucket"))
        for d in drafts
        if d.new is not None and d.action is Action.REPLACE and d.new.type in BUCKETS
    }
    # The buckets that hold the releases uploaded so far, with the prefix they hold: the source and its destinations.
    held = {f"arn:{PARTITION}:s3:::{r.source}": r.prefix for r in before.values()}
    held |= {d: r.prefix for d, r in before.items()}
    for dest, rule in sorted(after.items()):
        target = by_urn.get(rule.urn)
        if target is None or target.action is None:
            continue
        if rule.source in emptied:
            target.notes.append(
                f"the source {rule.source} is replaced by an empty bucket: every release uploaded before this "
                "change must be released again; replication copies only what is written after the rule takes effect"
            )
            break
        name = dest.rsplit(":", 1)[-1]
        region = _region_of_bucket(dest, new)
        if name in emptied:
            why = f"the destination {name} is replaced by an empty bucket"
        elif dest not in held:
            why = f"{region} joins" if region in joined else f"replication to {region} is new"
        elif held[dest] != rule.prefix:
            why = f"the rule's filter moves from '{held[dest]}' to '{rule.prefix}'"
        else:
            continue
        target.notes.append(
            f"{why}: every release already under '{rule.prefix}' in {rule.source} must be re-replicated to "
            f"{name} ({region}) with S3 Batch Replication; replication copies only what is written after the "
            "rule takes effect"
        )
    if primary_before != primary_after:
        for urn, source in sorted({(r.urn, r.source) for r in after.values()}):
            target = by_urn.get(urn)
            if target is not None and target.action is not None:
                target.notes.append(
                    f"the primary moves from {primary_before} to {primary_after}: releases are uploaded to {source} "
                    "from now on; those uploaded before stay where replication put them, every one of them in the "
                    "old primary"
                )
    for dest, was in sorted(before.items()):
        if dest in after:
            continue
        region = _region_of_bucket(dest, old)
        target = by_urn.get(was.urn)
        if target is not None and target.action is not None and region != primary_after:
            target.notes.append(f"replication to {region} ends: releases uploaded from now on never reach it")
    for draft in drafts:
        if draft.resource.type == AWS_PROVIDER and draft.action is Action.CREATE and draft.new is not None:
            draft.notes.append(
                f"region {draft.new.inputs.get('region')} joins: it serves a release only once that release is "
                "re-replicated to it"
            )


def _finish(draft: _Draft) -> Change | None:
    action = draft.action
    if action is None:
        return None
    resource = draft.resource
    known = lookup(resource.type)
    stateful = known is not None and known.holds is not None
    at_risk = _at_risk(resource) if stateful else None
    notes = list(dict.fromkeys(draft.notes))
    if stateful and action in (Action.REPLACE, Action.DELETE):
        notes.insert(0, f"destroys the data it holds: {at_risk}")
    properties = () if action in (Action.CREATE, Action.DELETE) else tuple(sorted(draft.properties))
    return Change(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        region=resource.region,
        action=action,
        properties=properties,
        replaces_because=tuple(sorted(draft.because)) if action is Action.REPLACE else (),
        stateful=stateful,
        at_risk=at_risk,
        notes=tuple(notes),
    )


def diff(old: Graph, new: Graph) -> Diff:
    """What deploying ``new`` over a stack deployed from ``old`` creates, updates, replaces and deletes."""
    drafts = _pair(old, new)
    for draft in drafts:
        _compare(draft)
    _cascade(drafts)
    _rollouts(drafts, new)
    _refresh_notes(drafts)
    _replication_notes(drafts, old, new)
    changes = [c for c in (_finish(d) for d in drafts) if c is not None]
    changes.sort(key=lambda c: (c.region or "", c.type, c.name, c.urn))
    unchanged = sum(1 for d in drafts if d.action is None)
    return Diff(changes=tuple(changes), unchanged=unchanged)
