"""Every AWS call a two-region release makes, failed in turn; a signal at the start of every phase.

The points come from the code, not from this file: a clean release is recorded (``Faults``: botocore's
``before-call``), then each recorded call is failed in its own release, so a call added to the release later is
a new point without anyone editing this test. After each run the invariants hold, whatever the message says:

- every region's pointer names one release, and all of them the old one or all the new one;
- the report's ``serving`` column is what the pointers name;
- no release lease or region lock is held, and every thread of the release ends (within 5 s);
- a rerun of the same command ends released.

Each point fails with one error kind, taking throttle, 500 and connection error in turn (the release handles
all three as one thing: an AWS call that did not succeed); a write (PutObject, Invoke) is also failed as
``lost`` (it landed, its answer did not). SIGINT or SIGTERM, in turn, arrives at the first call of every phase
and region the clean run reported. The world keeps its state between points (each release is a new version from
all regions on the previous one), so that a point costs its release and the rerun, not a new world.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapstack.errors import TapStackError
from tapstack.release import Event, Options, ReleaseReport, package_dir, release
from tapstack.release.lease import LEASE_KEY
from tests.release.faults import KINDS, SIGNALS, Faults, Point
from tests.release.helpers import make_world, write_app

pytestmark = pytest.mark.usefixtures("moto_world", "untraced")
TWO = ("us-east-1", "us-west-2")
OPTIONS = Options(bake=0.0, poll=5.0, converge_timeout=60.0, replication_timeout=60.0)
WRITES = frozenset({"PutObject", "Invoke"})
ERRORS = tuple(k for k in KINDS if k != "lost")
HANDLER_LOCK = "locks/release-pointer.json"


class Harness:
    def __init__(self, tmp_path: Path, staged: bool = False) -> None:
        """``staged``: two instances per region released one box, then the other (two migrations per region)."""
        self.world = make_world(TWO, instances=2 if staged else 1)
        self.options = dataclasses.replace(OPTIONS, batches=(0.0, 100.0)) if staged else OPTIONS
        self.world.agents_after_invoke = True
        self.faults = Faults(self.world.session)
        self.phase = ""
        self._changes = 0
        self.phases: dict[Point, str] = {}
        self.tmp = tmp_path
        self.versions = (f"{n}.0.0" for n in itertools.count(1))
        self.outcomes: Counter[str] = Counter()

    def on_event(self, event: Event) -> None:
        """Each change of phase (or region) starts a new one: the bake of wave 1 is not that of wave 0."""
        label = f"{event.phase}@{event.region or '-'}"
        if not self.phase.endswith(f" {label}"):
            self.phase = f"{self._changes} {label}"
            self._changes += 1

    def run(self, version: str) -> ReleaseReport:
        app = write_app(self.tmp / version, f"print({version!r})\n")
        return release(self.world.target(), package_dir(app, version), self.options, self.world.clock, self.on_event)

    def pointers(self) -> dict[str, str | None]:
        return {r: self.world.release_of(r) for r in TWO}

    def record(self) -> list[Point]:
        """The clean run's calls, each with the phase it was made in."""
        assert self.run(next(self.versions)).outcome == "released"
        self.faults.arm(None)
        self.phase, self._changes = "", 0
        points: list[Point] = []
        original = self.faults._point

        def noting(model: object, context: dict[str, object]) -> Point:
            point = original(model, context)
            self.phases[point] = self.phase
            points.append(point)
            return point

        self.faults._point = noting  # type: ignore[method-assign]
        try:
            report = self.run(next(self.versions))
        finally:
            self.faults._point = original  # type: ignore[method-assign]
        assert report.outcome == "released", report.message
        return points

    def inject(self, point: Point, kind: str) -> None:
        before = self.pointers()
        assert len(set(before.values())) == 1, before
        version = next(self.versions)
        calls = list(self.world.invocations)
        self.faults.arm(point, kind)
        try:
            report: ReleaseReport | None = self.run(version)
            outcome = report.outcome if report else ""
        except TapStackError as err:  # before the lease: one line, exit 2, nothing changed
            report, outcome, message = None, "refused before the lease", str(err)
        except KeyboardInterrupt as err:  # before the lease: the CLI says "interrupted", nothing changed
            report, outcome, message = None, "interrupted before the lease", repr(err)
        assert self.faults.hit, f"{point} ({kind}) was never reached"
        after = self.pointers()
        where = f"{point} {kind}: {outcome}: {report.message if report else message}"
        if report is None:
            assert after == before, where
        else:
            assert set(after.values()) in ({before[TWO[0]]}, {version}), where
            assert {r.region: r.serving for r in report.regions} == after, where
        self.nothing_held(where)
        self.outcomes[f"{kind}: {outcome}"] += 1
        self.faults.arm(None)
        if report is None and self.world.invocations == calls:
            return  # refused before anything was written: a rerun is the clean run record() made
        again = self.run(version)
        assert again.outcome in ("released", "noop"), f"{where}; rerun: {again.message}"
        assert set(self.pointers().values()) == {version}, where

    def nothing_held(self, where: str) -> None:
        for region in TWO:
            s3, bucket = self.world.client("s3", region), self.world.out(region, "deployment_bucket")
            for key in (LEASE_KEY, HANDLER_LOCK):
                try:
                    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                except s3.exceptions.NoSuchKey:
                    continue
                assert doc["state"] != "held", f"{where}: {key} in {region} is still held: {doc}"
        # A worker whose call was in flight when the signal landed may still be returning: it must end by itself.
        workers = [t for t in threading.enumerate() if t.name.startswith(("wave", "replication_", "release-look"))]
        for thread in workers:
            thread.join(5)
        alive = [t.name for t in workers if t.is_alive()]
        assert not alive, f"{where}: threads still running 5 s after the release returned: {alive}"


@pytest.fixture
def untraced() -> Iterator[None]:
    """No coverage tracing while a test of this module runs: its releases run the code paths the rest of
    the suite measures, and tracing them made this the costliest module of README's test command (16 s against
    10 s per turn). pytest-cov's ``no_cover`` marker does not pause the tracer in an xdist worker, so the trace
    functions are set aside here, for this thread and the threads it starts, and put back after."""
    here, threads = sys.gettrace(), threading.gettrace()
    sys.settrace(None)
    threading.settrace(None)
    try:
        yield
    finally:
        sys.settrace(here)
        threading.settrace(threads)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    yield Harness(tmp_path)


@pytest.mark.parametrize("turn", range(len(ERRORS)))
def test_every_call_of_a_two_region_release_failed_in_turn_leaves_every_region_on_one_release(
    harness: Harness, turn: int
) -> None:
    """Call i fails with ERRORS[i % 3]: across the three tests every call fails once, each kind a third."""
    points = harness.record()
    for index, point in enumerate(points):
        if index % len(ERRORS) == turn:
            harness.inject(point, ERRORS[turn])
    assert len(points) >= 40
    print(f"\n{len(points)} calls, every third: {dict(sorted(harness.outcomes.items()))}")


@pytest.mark.parametrize("staged", [False, True], ids=["all-at-once", "one-box-then-all"])
def test_every_write_of_a_two_region_release_landing_with_its_answer_lost_leaves_every_region_on_one_release(
    tmp_path: Path, staged: bool
) -> None:
    harness = Harness(tmp_path, staged)
    # Staged, the uploads and the lease are the single-stage run's writes: only the function calls differ.
    writes = [p for p in harness.record() if p.operation in ({"Invoke"} if staged else WRITES)]
    for point in writes:
        harness.inject(point, "lost")
    assert len(writes) >= 8
    print(f"\n{len(writes)} writes: {dict(sorted(harness.outcomes.items()))}")


def test_sigint_or_sigterm_at_the_start_of_every_phase_leaves_every_region_on_one_release(harness: Harness) -> None:
    """Phase i gets SIGNALS[i % 2]: the release turns both into one interruption (tests/release/test_failures.py
    proves that for SIGTERM and SIGHUP as for Ctrl-C), so each phase is interrupted once, by each signal in turn."""
    points = harness.record()
    firsts: dict[str, Point] = {}
    for point in points:
        firsts.setdefault(harness.phases[point], point)
    for index, point in enumerate(firsts.values()):
        harness.inject(point, SIGNALS[index % len(SIGNALS)])
    assert len(firsts) >= 12, sorted(firsts)
    print(f"\n{len(firsts)} phases: {dict(sorted(harness.outcomes.items()))}")
