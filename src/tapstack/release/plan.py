"""The release's plan: which region goes first, the waves after it, and the knobs that bound each wait."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from .errors import ReleaseError
from .outputs import StackOutputs

DEFAULT_BAKE = 300.0
DEFAULT_REPLICATION_TIMEOUT = 900.0
"""S3 Replication Time Control's promise: 99.99 % of objects within 15 minutes."""
DEFAULT_CONVERGE_TIMEOUT = 300.0
"""Agents run every 30 s and at boot; five minutes is ten chances for every instance."""
DEFAULT_POLL = 5.0
MIN_POLL = 0.5
POLLS_PER_BAKE = 10


def poll_for(bake: float) -> float:
    """The poll interval a bake of ``bake`` seconds gets unless one is given: a tenth of it, from 0.5 to 5 s.

    A bake looks at the alarms and the fleet once per poll and ends at its deadline, so it lasts ``bake``
    seconds give or take one poll (plus the time one look takes): 300 s polls every 5 s, 10 s every second.
    """
    return min(DEFAULT_POLL, max(MIN_POLL, bake / POLLS_PER_BAKE))


PRESETS: dict[str, tuple[float, ...]] = {
    "AllAtOnce": (100.0,),
    "HalfAtATime": (50.0, 100.0),
    "OneBoxThenAll": (0.0, 100.0),
    "OneAtATime": (),
}
"""Named stage lists (CodeDeploy's EC2 configurations, plus one box then the rest). Percentages of the region's
InService instances, cumulative; 0 is one box; OneAtATime (empty) is one more instance per stage."""


@dataclass(frozen=True)
class Options:
    canary: str | None = None
    parallel: int = 1
    bake: float = DEFAULT_BAKE
    replication_timeout: float = DEFAULT_REPLICATION_TIMEOUT
    converge_timeout: float = DEFAULT_CONVERGE_TIMEOUT
    poll: float = DEFAULT_POLL
    force: bool = False
    rollback: bool = True
    dry_run: bool = False
    batches: tuple[float, ...] = PRESETS["AllAtOnce"]
    """Cumulative percentages of each region's InService instances per stage, the last 100; see PRESETS."""
    min_healthy: str = "0"
    """``N`` instances or ``P%`` of the region's that must keep serving a release while a stage moves."""

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ReleaseError(f"--parallel {self.parallel}: at least 1 region per wave")
        # nan compares false with everything, so `nan < 0` let it through: a bake that never ends, a wait
        # that never times out. Each bound is a finite number of seconds; only the bake may be 0 (no watch).
        for name, least in (("bake", 0.0), ("replication_timeout", None), ("converge_timeout", None), ("poll", None)):
            value = getattr(self, name)
            flag = f"--{name.replace('_', '-')} {value}"
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ReleaseError(f"{flag}: must be a finite number of seconds")
            if least is None and value <= 0:
                raise ReleaseError(f"{flag}: must be above 0 seconds")
            if least is not None and value < least:
                raise ReleaseError(f"{flag}: must not be negative")
        shown = ",".join(f"{b:g}" for b in self.batches)
        if self.batches and (
            self.batches[-1] != 100 or any(not 0 <= b <= 100 or not math.isfinite(b) for b in self.batches)
        ):
            raise ReleaseError(f"--batches {shown}: percentages from 0 (one box) to 100, the last one 100")
        if list(self.batches) != sorted(set(self.batches)):
            raise ReleaseError(f"--batches {shown}: each stage must reach more of the fleet than the one before")
        min_healthy(self.min_healthy, 1)


def parse_batches(text: str) -> tuple[float, ...]:
    """``--batches``: a preset name or comma-separated percentages (``1,25,100``); ReleaseError naming both forms."""
    if text in PRESETS:
        return PRESETS[text]
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ReleaseError(
            f"--batches {text}: use percentages such as 1,25,100 or one of {', '.join(PRESETS)}"
        ) from None


def min_healthy(text: str, instances: int) -> int:
    """How many of ``instances`` must keep serving: ``N`` or ``P%`` (rounded up), as CodeDeploy counts it."""
    number = text[:-1] if text.endswith("%") else text
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0 or (text.endswith("%") and value > 100):
        raise ReleaseError(f"--min-healthy {text}: a number of instances (N) or a percentage (P%)")
    return math.ceil(value * instances / 100) if text.endswith("%") else math.ceil(value)


def stage_sizes(options: Options, instances: int) -> list[int]:
    """How many InService instances each stage reaches in a region of ``instances`` (cumulative, the last all).

    ReleaseError when a stage would move more instances at once than ``--min-healthy`` leaves serving."""
    if instances == 0:
        return [0]
    if not options.batches:
        sizes = list(range(1, instances + 1))
    else:
        sizes = []
        for percent in options.batches:
            size = min(instances, max(1, math.ceil(percent * instances / 100)))
            if not sizes or size > sizes[-1]:
                sizes.append(size)
    keep = min_healthy(options.min_healthy, instances)
    before = 0
    for size in sizes:
        if instances - (size - before) < keep and size - before > 0 and keep > 0:
            raise ReleaseError(
                f"--min-healthy {options.min_healthy}: a stage of {size - before} of {instances} instances would "
                f"leave {instances - (size - before)} serving; use smaller --batches or OneAtATime"
            )
        before = size
    return sizes


@dataclass(frozen=True)
class Plan:
    canary: str
    waves: tuple[tuple[str, ...], ...]
    """Wave 0 is the canary alone; the others hold up to ``parallel`` regions each, in stack order."""
    migration_id: str = field(compare=False)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(r for wave in self.waves for r in wave)


def migration_id(version: str, now: datetime) -> str:
    """One id for this run in every region (the handler's rule: 1-64 of A-Z a-z 0-9 _ -), readable and unique."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", version)[:36]  # room for a stage suffix (-s12) within 64
    return f"{safe}-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


def make_plan(outputs: StackOutputs, options: Options, version: str, now: datetime) -> Plan:
    canary = options.canary or outputs.primary
    outputs.region(canary)  # an unknown --canary is an error naming the stack's regions
    rest = [r for r in outputs.names if r != canary]
    waves = [(canary,), *(tuple(rest[i : i + options.parallel]) for i in range(0, len(rest), options.parallel))]
    return Plan(canary, tuple(waves), migration_id(version, now))
