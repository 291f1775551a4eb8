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
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..contract import POINTER_KEY, Stage, cohort_score, in_cohort, moved_by
from .alarms import firing, stack_alarms
from .clock import Clock, SystemClock
from .convergence import Assessment, assess, in_service, read_fleet
from .errors import ReleaseError, StageFailed
from .interrupts import Interrupted, shielded, signals_as_interrupts, unwinding
from .lease import DEFAULT_TTL, ReleaseLease
from .objects import head, read
from .package import Package
from .plan import Options, Plan, make_plan, stage_sizes
from .replication import ReplicationProgress, wait_for_replication
from .target import Target
from .upload import existing_manifest, upload

OK_OUTCOMES = ("released", "noop", "dry_run")
READ_ATTEMPTS = 3
"""A pointer read or a rollback that meets a throttle or a 5xx is tried this often before it counts as failed."""
UNREADABLE = "(unreadable)"
REFRESHING = frozenset({"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"})
"""Instance refresh states in which the group is still replacing (or about to replace) instances."""


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
    serving: str | None = None
    """The release the region's pointer names when the run ended (read from S3, never assumed), or
    ``(unreadable)`` when three reads failed."""
    stages: list[dict[str, Any]] = field(default_factory=list)
    """``{"name", "percent", "instances", "outcome"}`` per stage reached (one stage: the whole region)."""


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
        self.forced_note = ""
        self.going_back = False
        self.looking: list[threading.Thread] = []
        self.expect: dict[str, Callable[[str], str]] = {}
        """Per region during a staged rollout: the release each instance should serve (in or out of the cohort)."""
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
        """Step the fleet once (the emulator's agents; nothing on AWS), then read what it reports."""
        self.target.converge(region)
        r = self.outputs.region(region)
        view = read_fleet(self.target.client("s3", region), self.target.client("autoscaling", region), r)
        expect = self.expect.get(region) if release == self.version else None
        return assess(view, release, since, self.clock.now(), fail_fast, expect)

    def look(self, region: str, read: Callable[[], Assessment], seconds: float) -> Assessment:
        """One look at a fleet within ``seconds`` of wall time, or StageFailed: a deadline on the whole look.

        Socket timeouts bound each read, not the look: a peer that trickles bytes (or an agent pass stuck in
        a health check) would hold the release past --converge-timeout. The look runs in a daemon thread; one
        that overruns is abandoned (it only reads, and ends with its own timeouts).
        """
        box: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                box.append((True, read()))
            except BaseException as err:  # handed to the caller's thread as it is
                box.append((False, err))

        thread = threading.Thread(target=run, name="release-look", daemon=True)
        self.looking.append(thread)
        thread.start()
        thread.join(max(seconds, 0.05))
        if not box:
            text = f"a look at the fleet did not end within {max(seconds, 0.0):.0f}s (--converge-timeout)"
            raise StageFailed(f"{region}: {text}", {region: text})
        self.looking.remove(thread)
        ok, value = box[0]
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

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
            "batches": list(o.batches) or "OneAtATime",
            "min_healthy": o.min_healthy,
        }

    # -- waits ------------------------------------------------------------------------------------------

    def tick(self, at_most: float | None = None) -> None:
        """Between two polls: keep the lease, honour a cancel from another thread, then wait one poll, or
        ``at_most`` seconds when that is shorter (the end of a bake)."""
        if self.cancel.is_set():
            raise StageFailed("cancelled")
        if self.lease is not None:
            try:
                self.lease.renew()
            except Exception:
                if not self.going_back:
                    raise  # going back, a lost lease must not stop the rollback: its waits run to their end
        self.clock.sleep(self.options.poll if at_most is None else max(0.0, min(self.options.poll, at_most)))

    def converge(self, region: str, release: str, since: datetime, forward: bool) -> Assessment:
        deadline = self.clock.monotonic() + self.options.converge_timeout
        while True:
            try:
                seen = self.look(
                    region,
                    lambda: self.fleet(region, release, since, fail_fast=forward),
                    deadline - self.clock.monotonic(),
                )
            except Exception as err:
                if forward:
                    raise
                # Going back, a throttled or dropped read is one poll lost; the deadline still bounds the wait.
                seen = Assessment("waiting", f"cannot read the fleet: {_describe(err)}", 0, 0)
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
        self.watch(f"wave {wave}", lambda: list(self.migrated))

    def watch(self, label: str, migrated: Callable[[], list[_Migrated]]) -> None:
        deadline = self.clock.monotonic() + self.options.bake
        wave = label
        self.emit(Event("bake", f"baking {label} for {self.options.bake:g}s"))
        while True:
            for m in migrated():
                r = self.outputs.region(m.region)
                alarms = firing(
                    stack_alarms(self.target.client("cloudwatch", m.region), r.alarm_topic_arn),
                    self.ignored.get(m.region, frozenset()),
                )
                if alarms:
                    names = ", ".join(f"{a.name} ({a.reason})" if a.reason else a.name for a in alarms)
                    text = f"alarm in ALARM during the bake of {wave}: {names}"
                    raise StageFailed(f"{m.region}: {text}", {m.region: text})
                seen = self.look(
                    m.region,
                    lambda m=m: self.fleet(m.region, self.version, m.since, fail_fast=True),  # type: ignore[misc]
                    self.options.converge_timeout,
                )
                if seen.state == "unhealthy":
                    text = f"fleet turned unhealthy during the bake of {wave}: {seen.detail}"
                    raise StageFailed(f"{m.region}: {text}", {m.region: text})
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            self.emit(Event("bake", f"{wave}: {left:.0f}s of bake left, no alarm"))
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
        previous = current.get("release") if current is not None else None
        instances = self.in_service(region)
        # The first release has nothing for the rest of the fleet to keep serving: it goes to everyone at once.
        sizes = stage_sizes(self.options, len(instances)) if isinstance(previous, str) else [len(instances)]
        scored = sorted((cohort_score(i, self.version), i) for i in instances)
        for index, size in enumerate(sizes):
            final = index == len(sizes) - 1
            mid = self.plan.migration_id if len(sizes) == 1 else f"{self.plan.migration_id}-s{index + 1}"
            cohort: dict[str, Any] | None = None
            if not final:
                bound = scored[size - 1][0] + 1
                name = Stage.ONE_BOX if size == 1 else Stage.BATCH
                cohort = {"stage": name.value, "percent": round(size * 100 / len(instances), 2), "bound": bound}
                self.expect[region] = partial(_cohort_release, self.version, str(previous), bound)
            else:
                self.expect.pop(region, None)
            # The last stage is everyone in the group now, instances launched since the first stage included.
            members = [i for _, i in scored[:size]] if cohort else (self.in_service(region) if index else instances)
            name_shown, percent = (cohort["stage"], cohort["percent"]) if cohort else (Stage.ALL.value, 100)
            entry = {"name": name_shown, "percent": percent, "instances": members, "outcome": "started"}
            result.stages.append(entry)
            label = f"{region} {name_shown} {percent:g}%"
            if len(sizes) > 1:
                shown = f"stage {index + 1}/{len(sizes)}: {name_shown} {percent:g}% ({len(members)} instances)"
                self.emit(Event("stage", shown, region))
            try:
                seen = self.promote(region, mid, cohort)
                if not final:
                    self.watch(label, partial(self.latest, region))
            except BaseException:
                entry["outcome"] = "failed"
                raise
            if final:  # everyone: an instance launched after the stage began is in it too (it converged on it)
                entry["instances"] = list(seen.instances)
            entry["outcome"] = "passed"

    def latest(self, region: str) -> list[_Migrated]:
        """The region's newest migration: what a stage's bake watches."""
        return [m for m in self.migrated if m.region == region][-1:]

    def in_service(self, region: str) -> list[str]:
        """The region's InService instances now (none without compute): what the stages are cut from."""
        return list(in_service(self.target.client("autoscaling", region), self.outputs.region(region)))

    def promote(self, region: str, mid: str, cohort: dict[str, Any] | None) -> Assessment:
        """One migrate (to a cohort, or the whole region), then wait for the fleet and ask validate; the fleet
        as it converged."""
        result = self.results[region]
        result.migration_id = mid
        self.emit(Event("migrate", f"migrating to {self.version} ({mid})", region))
        since = self.clock.now()
        started = time.perf_counter()
        # Recorded before the call: a migrate whose answer is lost (a timeout, a signal) may still have promoted,
        # and the failure path reads the pointer of every region recorded here to find out.
        with self._lock:
            self.migrated.append(_Migrated(region, mid, since))
        event = {"action": "migrate", "migration_id": mid, "manifest_key": self.package.manifest.key}
        reply = self.target.invoke(region, {**event, **({"cohort": cohort} if cohort else {})})
        result.seconds["migrate"] = round(result.seconds.get("migrate", 0) + time.perf_counter() - started, 3)
        if not reply.ok:
            text = f"migrate answered {reply.status} {reply.outcome}: {reply.message}"
            if reply.status == 409 and "lock" in reply.message:
                text = f"refused by the region's release lock: {reply.message}"
            result.state, result.detail = "failed", text
            raise StageFailed(f"{region}: {text}", {region: text})
        result.state = "migrated"
        started = time.perf_counter()
        try:
            seen = self.converge(region, self.version, since, forward=True)
        except StageFailed as failure:
            result.state, result.detail = "failed", failure.regions.get(region, failure.message)
            raise
        finally:
            result.seconds["converge"] = round(result.seconds.get("converge", 0) + time.perf_counter() - started, 3)
        result.fleet = seen.summary
        started = time.perf_counter()
        self.emit(Event("validate", "the migration function's checks", region))
        check = self.target.invoke(region, {"action": "validate"})
        result.seconds["validate"] = round(result.seconds.get("validate", 0) + time.perf_counter() - started, 3)
        if not check.ok:
            result.state, result.detail = "failed", f"validate: {check.message}"
            raise StageFailed(f"{region}: validate failed: {check.message}", {region: f"validate: {check.message}"})
        result.detail = f"{reply.message}; {seen.detail}; validate: {check.message}"
        return seen

    def wave(self, index: int, regions: tuple[str, ...]) -> None:
        if len(regions) == 1:
            self.stage(regions[0])
        else:
            with ThreadPoolExecutor(max_workers=len(regions), thread_name_prefix="wave") as pool:
                futures = [pool.submit(self.stage, r) for r in regions]
                try:
                    errors = [f.exception() for f in futures]
                except BaseException:
                    self.cancel.set()  # the other regions' workers stop at their next poll
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

    def read_pointer(self, region: str) -> dict[str, Any] | str | None:
        """The pointer as S3 holds it now, tried ``READ_ATTEMPTS`` times; ``UNREADABLE`` if every try failed."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return self.pointer(region)
            except Exception:  # any failure to read is the same fact: the state is unknown
                if attempt + 1 < READ_ATTEMPTS:
                    time.sleep(0.2 * (attempt + 1))
        return UNREADABLE

    def moved(self) -> list[_Migrated]:
        """The regions whose pointer names the migration this run recorded for them, in the order they moved.

        Never the client's view: a migrate that answered an error (or whose answer a signal cut off) may have
        promoted, and one recorded as sent may never have reached the function. An unreadable pointer counts
        as moved: a rollback of a migration that never landed is refused harmlessly (404).
        """
        found = []
        for m in self.migrated:
            pointer = self.read_pointer(m.region)
            if pointer == UNREADABLE or (isinstance(pointer, dict) and moved_by(pointer) == m.migration_id):
                found.append(m)
        return found

    def rollback(self, why: str, moved: list[_Migrated]) -> None:
        self.cancel.clear()  # the cancel stopped the wave's workers; the rollback's own waits must run
        started = time.perf_counter()
        for m in reversed(moved):
            result = self.results[m.region]
            cause = result.detail if result.state == "failed" and result.detail else why
            try:
                self._roll_back(m, result, cause)
            except Exception as err:  # the other regions' rollbacks must run whatever this one met
                result.state, result.detail = "rollback_failed", f"{cause}; rollback stopped by {_describe(err)}"
        self.phases["rollback"] = round(time.perf_counter() - started, 3)

    def _roll_back(self, m: _Migrated, result: RegionResult, cause: str) -> None:
        self.emit(Event("rollback", f"rolling back migration {m.migration_id}", m.region))
        event = {"action": "rollback", "migration_id": m.migration_id}
        reply = self.target.invoke(m.region, event)
        for _ in range(READ_ATTEMPTS - 1):
            if reply.ok or reply.status < 500:
                break
            self.clock.sleep(min(self.options.poll, 5.0))
            reply = self.target.invoke(m.region, event)  # idempotent: a rollback that landed answers the same
        pointer = self.read_pointer(m.region)
        still = pointer == UNREADABLE or (isinstance(pointer, dict) and moved_by(pointer) == m.migration_id)
        if still:
            result.state = "rollback_failed"
            answer = f"rollback answered {reply.status}: {reply.message}"
            result.detail = f"{cause}; {answer}" + ("; its pointer is unreadable" if pointer == UNREADABLE else "")
            return
        back_to = pointer.get("release") if isinstance(pointer, dict) else None
        if not isinstance(back_to, str):
            result.state, result.detail = "rolled_back", f"{cause}; rolled back ({reply.message})"
            return
        try:
            seen = self.converge(m.region, back_to, self.clock.now(), forward=False)
        except StageFailed as failure:
            result.state = "rollback_failed"
            result.detail = f"{cause}; rolled back to {back_to} but {failure.regions.get(m.region, failure)}"
            return
        result.state, result.fleet = "rolled_back", seen.summary
        result.detail = f"{cause}; rolled back to {back_to}, {seen.detail}"

    def settle(self) -> None:
        """What every region's pointer names now: the table shows it beside the state."""
        self.emit(Event("settle", "reading what every region's pointer names"))
        for region in self.plan.order:
            pointer = self.read_pointer(region)
            result = self.results[region]
            result.serving = pointer if isinstance(pointer, str) else (pointer or {}).get("release")

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

    def refreshing(self) -> dict[str, str]:
        """Regions whose group has an instance refresh under way: a release never runs beside one, so that
        what replaces instances and what moves releases are never the same stage."""
        found: dict[str, str] = {}
        for region in self.plan.order:
            group = self.outputs.region(region).asg_name
            if group is None:
                continue
            listed = self.target.client("autoscaling", region).describe_instance_refreshes(AutoScalingGroupName=group)
            active = [r for r in listed.get("InstanceRefreshes", []) if r.get("Status") in REFRESHING]
            if active:
                found[region] = (
                    f"instance refresh {active[0].get('InstanceRefreshId')} of {group} is {active[0]['Status']}"
                )
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
        with signals_as_interrupts():
            return self._run()

    def _run(self) -> ReleaseReport:
        primary = self.outputs.region(self.outputs.primary)
        try:
            if self.options.dry_run:
                return self.dry_run()
            existing_manifest(self.target.client("s3", primary.region), primary.bucket, self.package)
            if self.already_everywhere():
                for result in self.results.values():
                    result.state = "already_current"
                    result.serving = self.version
                return self.report(
                    "noop",
                    f"release {self.version} is already current in every region "
                    f"({', '.join(self.plan.order)}); nothing to do",
                )
        except (ClientError, BotoCoreError) as err:
            raise ReleaseError(f"cannot read the stack's deployment buckets: {err}") from None
        if self.options.batches != (100.0,) or self.options.min_healthy != "0":
            for region in self.plan.order:  # stages that --min-healthy forbids are refused before anything moves
                stage_sizes(self.options, len(self.in_service(region)))
        self.lease = ReleaseLease(
            self.target,
            [self.outputs.region(r) for r in self.plan.order],
            f"release {self.version} ({self.plan.migration_id})",
            self.clock,
            DEFAULT_TTL,
        )
        self.emit(Event("lease", f"taking the release lease in {', '.join(self.plan.order)}"))
        self.lease.acquire()
        try:
            return self._locked(primary.bucket)
        finally:
            with shielded(reraise=False):  # a signal now must not leave the lease held for its ttl
                self.lease.release()

    def _locked(self, bucket: str) -> ReleaseReport:
        """From the lease on, every way out is a report: a failure, a signal or a bug all take ``_fail``."""
        extra: dict[str, Any] = {}
        try:
            return self._forward(bucket, extra)
        except StageFailed as failure:
            return self._fail(failure.message, failure.regions, extra, "failed")
        except KeyboardInterrupt as stop:
            name = stop.name if isinstance(stop, Interrupted) else "SIGINT"
            return self._fail(f"interrupted ({name})", {}, extra, "interrupted")
        except Exception as err:  # an AWS error, a lost lease or a TapStack bug: the same way back
            return self._fail(_describe(err), {}, extra, "failed")

    def _forward(self, bucket: str, extra: dict[str, Any]) -> ReleaseReport:
        self.emit(Event("upload", f"uploading {len(self.package.objects)} objects to {bucket}"))
        with self.phase("upload"):
            done = upload(
                self.target.client("s3", self.outputs.primary),
                bucket,
                self.package,
                lambda key, sent: self.emit(Event("upload", f"{'uploaded' if sent else 'already there'}: {key}")),
            )
        extra.update(uploaded=list(done.uploaded), skipped=list(done.skipped))
        self.emit(Event("replication", "waiting for replication to every secondary"))

        def replicated(p: ReplicationProgress) -> None:
            self.emit(Event("replication", "objects replicated", done=p.done, total=p.total))
            if self.lease is not None:
                self.lease.renew()

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
            self.settle()
            return self.report("failed", failure.message, **extra)
        self.emit(Event("preflight", "looking for stack alarms already in ALARM and instance refreshes under way"))
        with self.phase("preflight"):
            firing_now = self.preflight()
        if firing_now and not self.options.force:
            for entry in firing_now:
                region = entry.split(":")[0]
                self.results[region].detail = "in ALARM before the start: " + ", ".join(sorted(self.ignored[region]))
            self.settle()
            return self.report(
                "refused",
                f"refused: alarms already in ALARM ({'; '.join(firing_now)}); fix them or pass --force; "
                "no region was migrated",
                **extra,
            )
        refreshing = self.refreshing()
        if refreshing:
            for region, text in refreshing.items():
                self.results[region].detail = text
            self.settle()
            return self.report(
                "refused",
                f"refused: {'; '.join(f'{r}: {t}' for r, t in refreshing.items())}; a release waits for the "
                "refresh to end (new instances boot onto the current release); no region was migrated",
                **extra,
            )
        if firing_now:
            self.emit(Event("preflight", f"--force: starting although in ALARM: {'; '.join(firing_now)}"))
        self.forced_note = f" (--force: ignored alarms already in ALARM: {'; '.join(firing_now)})" if firing_now else ""
        for index, regions in enumerate(self.plan.waves):
            with self.phase(f"wave {index}"):
                self.wave(index, regions)
        self.settle()
        return self.report(
            "released",
            f"release {self.version} is current and healthy in {', '.join(self.plan.order)}{self.forced_note}",
            **extra,
        )

    def _fail(self, cause: str, regions: dict[str, str], extra: dict[str, Any], outcome: str) -> ReleaseReport:
        """The one way back: what each region really serves, roll back what moved (newest first), the truth."""
        unwinding()  # from here a second signal waits: cutting the rollback short would split the regions
        self.cancel.set()
        self.going_back = True
        # A signal lands in this thread while a look may still run in its own (an emulator agent pass, with IAM
        # enforced for its duration): let it end, within its deadline, before reading the pointers.
        until = time.monotonic() + self.options.converge_timeout
        for thread in self.looking:
            thread.join(max(0.0, until - time.monotonic()))
        self.looking.clear()
        for region, text in regions.items():
            if region in self.results and self.results[region].state != "failed":
                self.results[region].detail = text
        moved = self.moved()
        for m in moved:
            result = self.results[m.region]
            if result.state == "not_started":  # its migrate's answer never came, but the pointer moved
                result.state = "migrated"
                result.detail = f"its migrate was cut off by {cause} but had promoted"
        if not self.options.rollback:
            for m in moved:
                if self.results[m.region].state == "failed":
                    continue
                self.results[m.region].state = "migrated"
            self.settle()
            left = ", ".join(m.region for m in moved) or "none"
            return self.report(
                outcome,
                f"{cause}; --no-rollback: regions left on {self.version}: {left} "
                "(re-run the same command to continue, see docs/operating-migrations.md)",
                **extra,
            )
        self.rollback(cause, moved)
        self.settle()
        return self.report(outcome, self._failed_message(cause, moved) + self.forced_note, **extra)

    def _failed_message(self, cause: str, moved: list[_Migrated]) -> str:
        back = [m.region for m in reversed(moved)]
        stuck = [r for r in back if self.results[r].state == "rollback_failed"]
        if not back:
            return f"{cause}; no region had been migrated"
        rolled = [r for r in back if r not in stuck]
        text = f"{cause}; rolled back {', '.join(rolled)}" if rolled else cause
        return text + (f"; ROLLBACK FAILED in {', '.join(stuck)}: see per-region results" if stuck else "")


def _cohort_release(release: str, previous: str, bound: int, instance: str) -> str:
    """What ``instance`` serves while ``release`` is staged to ``bound``: the agent's own rule."""
    return release if in_cohort(instance, release, bound) else previous


def _describe(err: BaseException) -> str:
    """One line for an unexpected error: its type (a bug in TapStack shows as one) and its message."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


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
