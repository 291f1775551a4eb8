"""The release, end to end: upload, replication, preflight, canary, waves, and rollback on any failure.

The shape follows how AWS deploys its own services (Builders' Library, "Automating safe, hands-off
deployments"): one region first, then the others in waves, each stage migrate -> fleet converged -> validate
-> bake with the region's alarms and heartbeats watched; anything wrong rolls back every region already
migrated, newest first, and waits for the fleets to come back, so no run ends half-promoted without saying
so per region.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .alarms import firing, stack_alarms
from .clock import Clock, SystemClock
from .convergence import Assessment, assess, read_fleet
from .errors import ReleaseError, StageFailed
from .lease import DEFAULT_TTL, ReleaseLease
from .objects import head, read
from .package import Package
from .plan import Options, Plan, make_plan
from .replication import ReplicationProgress, wait_for_replication
from .target import Target
from .upload import existing_manifest, upload

POINTER_KEY = "releases/current.json"
OK_OUTCOMES = ("released", "noop", "dry_run")


@dataclass(frozen=True)
class Event:
    """Progress for whoever shows it (the CLI's rich display); the library never prints."""

    phase: str
    message: str
    region: str | None = None
    done: int | None = None
    total: int | None = None


@dataclass
class RegionResult:
    region: str
    wave: int
    state: str = "not_started"
    """not_started | already_current | current | migrated | failed | rolled_back | rollback_failed"""
    migration_id: str | None = None
    fleet: str = "-"
    detail: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class ReleaseReport:
    version: str
    target: str
    outcome: str
    """released | noop | dry_run | refused | failed | interrupted"""
    message: str
    regions: list[RegionResult]
    phases: dict[str, float] = field(default_factory=dict)
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    migration_id: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


@dataclass
class _Migrated:
    region: str
    migration_id: str
    since: datetime


class _Run:
    def __init__(
        self, target: Target, package: Package, options: Options, clock: Clock, emit: Callable[[Event], None]
    ) -> None:
        self.target = target
        self.outputs = target.outputs
        self.package = package
        self.version = package.version
        self.options = options
        self.clock = clock
        self.emit = emit
        self.plan: Plan = make_plan(self.outputs, options, package.version, clock.now())
        self.results = {
            region: RegionResult(region, wave) for wave, regions in enumerate(self.plan.waves) for region in regions
        }
        self.migrated: list[_Migrated] = []
        self.ignored: dict[str, frozenset[str]] = {}
        self.phases: dict[str, float] = {}
        self.cancel = threading.Event()
        self.lease: ReleaseLease | None = None
        self._lock = threading.Lock()

    # -- reading the regions ------------------------------------------------------------------------------

    def pointer(self, region: str) -> dict[str, Any] | None:
        r = self.outputs.region(region)
        body = read(self.target.client("s3", region), r.bucket, POINTER_KEY)
        if body is None:
            return None
        doc = json.loads(body)
        return doc if isinstance(doc, dict) else None

    def fleet(self, region: str, release: str, since: datetime, fail_fast: bool) -> Assessment:
        r = self.outputs.region(region)
        view = read_fleet(self.target.client("s3", region), self.target.client("autoscaling", region), r)
        return assess(view, release, since, self.clock.now(), fail_fast)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - started, 3)

    def report(self, outcome: str, message: str, **extra: Any) -> ReleaseReport:
        return ReleaseReport(
            version=self.version,
            target=self.target.label,
            outcome=outcome,
            message=message,
            regions=[self.results[r] for r in self.plan.order],
            phases=dict(self.phases),
            migration_id=None if outcome == "noop" else self.plan.migration_id,  # a no-op migrated nothing
            plan=self.plan_doc(),
            **extra,
        )

    def plan_doc(self) -> dict[str, Any]:
        o = self.options
        return {
            "canary": self.plan.canary,
            "waves": [list(w) for w in self.plan.waves],
            "primary_bucket": self.outputs.region(self.outputs.primary).bucket,
            "objects": [{"key": a.key, "bytes": len(a.body), "sha256": a.sha256} for a in self.package.objects],
            "bake_seconds": o.bake,
            "converge_timeout": o.converge_timeout,
            "replication_timeout": o.replication_timeout,
            "rollback": o.rollback,
        }

    # -- waits ------------------------------------------------------------------------------------------

    def tick(self, at_most: float | None = None) -> None:
        """Between two polls: keep the lease, honour a cancel from another thread, then wait one poll, or
        ``at_most`` seconds when that is shorter (the end of a bake)."""
        if self.cancel.is_set():
            raise StageFailed("cancelled")
        if self.lease is not None:
            self.lease.renew()
        self.clock.sleep(self.options.poll if at_most is None else max(0.0, min(self.options.poll, at_most)))

    def converge(self, region: str, release: str, since: datetime, forward: bool) -> Assessment:
        deadline = self.clock.monotonic() + self.options.converge_timeout
        while True:
            self.target.converge(region)
            seen = self.fleet(region, release, since, fail_fast=forward)
            self.emit(Event("converge", seen.detail, region, seen.ready, seen.total))
            if seen.state == "converged":
                return seen
            if seen.state == "unhealthy":
                raise StageFailed(f"fleet unhealthy in {region}: {seen.detail}", {region: seen.detail})
            if self.clock.monotonic() >= deadline:
                text = f"fleet did not converge on {release} within {self.options.converge_timeout:g}s: {seen.detail}"
                raise StageFailed(f"{region}: {text}", {region: text})
            self.tick()

    def bake(self, wave: int) -> None:
        """Watch every region migrated so far: its alarms (except those forced past) and its fleet."""
        deadline = self.clock.monotonic() + self.options.bake
        self.emit(Event("bake", f"baking wave {wave} for {self.options.bake:g}s"))
        while True:
            for m in list(self.migrated):
                r = self.outputs.region(m.region)
                alarms = firing(
                    stack_alarms(self.target.client("cloudwatch", m.region), r.alarm_topic_arn),
                    self.ignored.get(m.region, frozenset()),
                )
                if alarms:
                    names = ", ".join(f"{a.name} ({a.reason})" if a.reason else a.name for a in alarms)
                    text = f"alarm in ALARM during the bake of wave {wave}: {names}"
                    raise StageFailed(f"{m.region}: {text}", {m.region: text})
                self.target.converge(m.region)
                seen = self.fleet(m.region, self.version, m.since, fail_fast=True)
                if seen.state == "unhealthy":
                    text = f"fleet turned unhealthy during the bake of wave {wave}: {seen.detail}"
                    raise StageFailed(f"{m.region}: {text}", {m.region: text})
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            self.emit(Event("bake", f"wave {wave}: {left:.0f}s of bake left, no alarm"))
            self.tick(left)  # the last look is at the bake's end, not up to one poll past it

    # -- one region forward -------------------------------------------------------------------------------

    def stage(self, region: str) -> None:
        result = self.results[region]
        current = self.pointer(region)
        if current is not None and self.is_this_release(current):
            mid = str(current.get("migration_id"))
            since = self.clock.now()
            with self._lock:
                self.migrated.append(_Migrated(region, mid, since))
            result.state, result.migration_id = "already_current", mid
            self.emit(Event("migrate", f"already on {self.version} (migration {mid}); checking its fleet", region))
            seen = self.converge(region, self.version, since, forward=True)
            result.fleet, result.detail = seen.summary, f"already current; {seen.detail}"
            return
        mid = self.plan.migration_id
        result.migration_id = mid
        self.emit(Event("migrate", f"migrating to {self.version} ({mid})", region))
        since = self.clock.now()
        started = time.perf_counter()
        reply = self.target.invoke(
            region, {"action": "migrate", "migration_id": mid, "manifest_key": self.package.manifest.key}
        )
        result.seconds["migrate"] = round(time.perf_counter() - started, 3)
        if not reply.ok:
            promoted = self._promoted_anyway(region, mid)
            if promoted:
                with self._lock:
                    self.migrated.append(_Migrated(region, mid, since))
            text = f"migrate answered {reply.status} {reply.outcome}: {reply.message}"
            if reply.status == 409 and "lock" in reply.message:
                text = f"refused by the region's release lock: {reply.message}"
            result.state, result.detail = "failed", text
            raise StageFailed(f"{region}: {text}", {region: text})
        with self._lock:
            self.migrated.append(_Migrated(region, mid, since))
        result.state = "migrated"
        started = time.perf_counter()
        try:
            seen = self.converge(region, self.version, since, forward=True)
        except StageFailed as failure:
            result.state, result.detail = "failed", failure.regions.get(region, failure.message)
            raise
        finally:
            result.seconds["converge"] = round(time.perf_counter() - started, 3)
        result.fleet = seen.summary
        started = time.perf_counter()
        check = self.target.invoke(region, {"action": "validate"})
        result.seconds["validate"] = round(time.perf_counter() - started, 3)
        if not check.ok:
            result.state, result.detail = "failed", f"validate: {check.message}"
            raise StageFailed(f"{region}: validate failed: {check.message}", {region: f"validate: {check.message}"})
        result.detail = f"{reply.message}; {seen.detail}; validate: {check.message}"

    def _promoted_anyway(self, region: str, mid: str) -> bool:
        """A migrate whose answer was lost (a timeout, a dropped connection) may still have promoted."""
        try:
            current = self.pointer(region)
        except (ClientError, BotoCoreError, ValueError):
            return False
        return bool(current and current.get("migration_id") == mid)

    def wave(self, index: int, regions: tuple[str, ...]) -> None:
        if len(regions) == 1:
            self.stage(regions[0])
        else:
            with ThreadPoolExecutor(max_workers=len(regions), thread_name_prefix="wave") as pool:
                futures = [pool.submit(self.stage, r) for r in regions]
                try:
                    errors = [f.exception() for f in futures]
                except KeyboardInterrupt:
                    self.cancel.set()
                    raise
            failures = [e for e in errors if e is not None]
            if failures:
                merged: dict[str, str] = {}
                for e in failures:
                    if not isinstance(e, StageFailed):
                        raise e
                    merged.update(e.regions)
                raise StageFailed("; ".join(str(e) for e in failures), merged)
        for region in regions:
            self.results[region].state = (
                "already_current" if self.results[region].state == "already_current" else "current"
            )
        started = time.perf_counter()
        self.bake(index)
        self.phases[f"bake wave {index}"] = round(time.perf_counter() - started, 3)

    # -- back ---------------------------------------------------------------------------------------------

    def rollback(self, why: str) -> None:
        self.cancel.clear()  # the cancel stopped the wave's workers; the rollback's own waits must run
        started = time.perf_counter()
        for m in reversed(self.migrated):
            result = self.results[m.region]
            self.emit(Event("rollback", f"rolling back migration {m.migration_id}", m.region))
            reply = self.target.invoke(m.region, {"action": "rollback", "migration_id": m.migration_id})
            cause = result.detail if result.state == "failed" else why
            if not reply.ok:
                result.state = "rollback_failed"
                result.detail = f"{cause}; rollback answered {reply.status}: {reply.message}"
                continue
            restored = (reply.result.get("rollback") or {}).get("restored") or {}
            back_to = restored.get("release")
            if not isinstance(back_to, str):
                result.state, result.detail = "rolled_back", f"{cause}; rolled back ({reply.message})"
                continue
            try:
                seen = self.converge(m.region, back_to, self.clock.now(), forward=False)
            except StageFailed as failure:
                result.state = "rollback_failed"
                result.detail = f"{cause}; rolled back to {back_to} but {failure.regions.get(m.region, failure)}"
                continue
            result.state, result.fleet = "rolled_back", seen.summary
            result.detail = f"{cause}; rolled back to {back_to}, {seen.detail}"
        self.phases["rollback"] = round(time.perf_counter() - started, 3)

    # -- the whole run ------------------------------------------------------------------------------------

    def preflight(self) -> list[str]:
        """Alarms already in ALARM in any target region: refused, or (with --force) ignored and said so."""
        found: list[str] = []
        for region in self.plan.order:
            r = self.outputs.region(region)
            alarms = firing(stack_alarms(self.target.client("cloudwatch", region), r.alarm_topic_arn))
            if alarms:
                self.ignored[region] = frozenset(a.name for a in alarms)
                found += [f"{region}: {a.name}" for a in alarms]
        return found

    def is_this_release(self, pointer: dict[str, Any] | None) -> bool:
        return (
            pointer is not None
            and pointer.get("release") == self.version
            and pointer.get("manifest_key") == self.package.manifest.key
        )

    def already_everywhere(self) -> bool:
        return all(self.is_this_release(self.pointer(r)) for r in self.plan.order)

    def dry_run(self) -> ReleaseReport:
        primary = self.outputs.region(self.outputs.primary)
        s3 = self.target.client("s3", primary.region)
        existing_manifest(s3, primary.bucket, self.package)
        present = []
        for a in self.package.objects:
            found = head(s3, primary.bucket, a.key)
            if found is not None and found.sha256 == a.sha256:
                present.append(a.key)
        todo = [a.key for a in self.package.objects if a.key not in present]
        for region in self.plan.order:
            self.results[region].state = "planned"
        waves = " -> ".join("+".join(w) for w in self.plan.waves)
        return self.report(
            "dry_run",
            f"dry run: would upload {len(todo)} of {len(self.package.objects)} objects to {primary.bucket}, "
            f"then release {self.version} to {waves} (canary {self.plan.canary}); nothing was changed",
            uploaded=todo,
            skipped=present,
        )

    def run(self) -> ReleaseReport:
        primary = self.outputs.region(self.outputs.primary)
        try:
            if self.options.dry_run:
                return self.dry_run()
            existing_manifest(self.target.client("s3", primary.region), primary.bucket, self.package)
            if self.already_everywhere():
                for result in self.results.values():
                    result.state = "already_current"
                return self.report(
                    "noop",
                    f"release {self.version} is already current in every region "
                    f"({', '.join(self.plan.order)}); nothing to do",
                )
        except (ClientError, BotoCoreError) as err:
            raise ReleaseError(f"cannot read the stack's deployment buckets: {err}") from None
        self.lease = ReleaseLease(
            self.target,
            [self.outputs.region(r) for r in self.plan.order],
            f"release {self.version} ({self.plan.migration_id})",
            self.clock,
            DEFAULT_TTL,
        )
        self.lease.acquire()
        try:
            return self._locked(primary.bucket)
        finally:
            self.lease.release()

    def _locked(self, bucket: str) -> ReleaseReport:
        self.emit(Event("upload", f"uploading {len(self.package.objects)} objects to {bucket}"))
        with self.phase("upload"):
            done = upload(
                self.target.client("s3", self.outputs.primary),
                bucket,
                self.package,
                lambda key, sent: self.emit(Event("upload", f"{'uploaded' if sent else 'already there'}: {key}")),
            )
        self.emit(Event("replication", "waiting for replication to every secondary"))

        def replicated(p: ReplicationProgress) -> None:
            self.emit(Event("replication", "objects replicated", done=p.done, total=p.total))
            if self.lease is not None:
                self.lease.renew()

        extra = {"uploaded": list(done.uploaded), "skipped": list(done.skipped)}
        try:
            with self.phase("replication"):
                wait_for_replication(
                    self.target,
                    self.package,
                    self.options.replication_timeout,
                    self.clock,
                    self.options.poll,
                    replicated,
                )
        except StageFailed as failure:
            for region, text in failure.regions.items():
                self.results[region].detail = text
            return self.report("failed", failure.message, **extra)
        with self.phase("preflight"):
            firing_now = self.preflight()
        if firing_now and not self.options.force:
            for entry in firing_now:
                region = entry.split(":")[0]
                self.results[region].detail = "in ALARM before the start: " + ", ".join(sorted(self.ignored[region]))
            return self.report(
                "refused",
                f"refused: alarms already in ALARM ({'; '.join(firing_now)}); fix them or pass --force; "
                "no region was migrated",
                **extra,
            )
        if firing_now:
            self.emit(Event("preflight", f"--force: starting although in ALARM: {'; '.join(firing_now)}"))
        return self._stages(extra, firing_now)

    def _stages(self, extra: dict[str, Any], forced: list[str]) -> ReleaseReport:
        forced_note = f" (--force: ignored alarms already in ALARM: {'; '.join(forced)})" if forced else ""
        try:
            for index, regions in enumerate(self.plan.waves):
                with self.phase(f"wave {index}"):
                    self.wave(index, regions)
        except StageFailed as failure:
            for region, text in failure.regions.items():
                if self.results[region].state not in ("failed",):
                    self.results[region].detail = text
            if not self.options.rollback:
                return self.report(
                    "failed", f"{failure.message}; --no-rollback: migrated regions left as they are", **extra
                )
            self.rollback(failure.message)
            return self.report("failed", self._failed_message(failure.message) + forced_note, **extra)
        except KeyboardInterrupt:
            if not self.options.rollback:
                left = ", ".join(m.region for m in self.migrated) or "none"
                return self.report(
                    "interrupted",
                    f"interrupted; --no-rollback: regions left on {self.version}: {left} "
                    "(re-run the same command to continue, see docs/operating-migrations.md)",
                    **extra,
                )
            self.rollback("interrupted (Ctrl-C)")
            return self.report("interrupted", self._failed_message("interrupted (Ctrl-C)"), **extra)
        return self.report(
            "released",
            f"release {self.version} is current and healthy in {', '.join(self.plan.order)}{forced_note}",
            **extra,
        )

    def _failed_message(self, cause: str) -> str:
        back = [m.region for m in reversed(self.migrated)]
        stuck = [r for r in back if self.results[r].state == "rollback_failed"]
        if not back:
            return f"{cause}; no region had been migrated"
        rolled = [r for r in back if r not in stuck]
        text = f"{cause}; rolled back {', '.join(rolled)}" if rolled else cause
        return text + (f"; ROLLBACK FAILED in {', '.join(stuck)}: see per-region results" if stuck else "")


def release(
    target: Target,
    package: Package,
    options: Options,
    clock: Clock | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> ReleaseReport:
    """Release ``package`` to every region of the target's stack; the report says what happened where.

    Raises ReleaseError for what stops the run before any region is touched (a bad --canary, a version
    already uploaded with other content, an unreachable primary bucket, a lease another release holds).
    """
    return _Run(target, package, options, clock or SystemClock(), on_event or (lambda _: None)).run()
