"""Wait until every object of the release is in every secondary, byte for byte, before any region migrates.

Two facts must both hold: the source object's ReplicationStatus is COMPLETED (S3 says every destination has
it) and each replica exists with the same sha256 (what the secondary's function and instances will read).
Checking only the replicas would miss a rule that silently does not cover ``artifacts/``; checking only the
status would trust a flag. FAILED is final (S3 does not retry it), so it stops the wait at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from .clock import Clock
from .errors import StageFailed
from .objects import head
from .package import Package
from .target import Target

HEAD_WORKERS = 16
_LISTED = 5
"""Missing objects named per region in a message; the per-region result has the count."""


@dataclass(frozen=True)
class ReplicationProgress:
    done: int
    total: int


def _names(keys: list[str]) -> str:
    more = f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else ""
    return ", ".join(sorted(keys)[:_LISTED]) + more


def wait_for_replication(
    target: Target,
    package: Package,
    timeout: float,
    clock: Clock,
    poll: float,
    on_progress: Callable[[ReplicationProgress], None] | None = None,
) -> int:
    """Returns the number of (region, object) pairs confirmed; raises StageFailed on FAILED or timeout."""
    outputs = target.outputs
    primary = outputs.region(outputs.primary)
    keys = [a.key for a in package.objects]
    sources: dict[str, str | None] = {k: None for k in keys} if outputs.secondaries else {}
    replicas = {(r.region, k): r.bucket for r in outputs.secondaries for k in keys}
    want = {a.key: a.sha256 for a in package.objects}
    total = len(sources) + len(replicas)
    deadline = clock.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="replication") as pool:
        while True:
            try:
                statuses = dict(
                    zip(
                        list(sources),
                        pool.map(lambda k: head(target.client("s3", primary.region), primary.bucket, k), list(sources)),
                        strict=True,
                    )
                )
                found = dict(
                    zip(
                        list(replicas),
                        pool.map(
                            lambda rk: head(target.client("s3", rk[0]), replicas[rk], rk[1]),
                            list(replicas),
                        ),
                        strict=True,
                    )
                )
            except (ClientError, BotoCoreError) as err:
                raise StageFailed(f"cannot check replication: {err}") from None
            failed = [k for k, h in statuses.items() if h is not None and h.replication == "FAILED"]
            if failed:
                raise StageFailed(
                    f"S3 reports replication FAILED for {_names(failed)} in {primary.bucket}: check the replication "
                    "role and the destination keys (docs/runbook.md); no region was migrated",
                    {outputs.primary: f"replication FAILED for {len(failed)} object(s)"},
                )
            for key, h in statuses.items():
                if h is not None and h.replication == "COMPLETED":
                    del sources[key]
                else:
                    sources[key] = h.replication if h is not None else "absent"
            for pair, h in found.items():
                if h is not None and h.sha256 == want[pair[1]]:
                    del replicas[pair]
            if on_progress is not None:
                on_progress(ReplicationProgress(total - len(sources) - len(replicas), total))
            if not sources and not replicas:
                return total
            if clock.monotonic() >= deadline:
                raise _timeout(timeout, outputs.primary, sources, replicas)
            clock.sleep(poll)


def _timeout(
    timeout: float, primary: str, sources: dict[str, str | None], replicas: dict[tuple[str, str], str]
) -> StageFailed:
    per_region: dict[str, list[str]] = {}
    for region, key in replicas:
        per_region.setdefault(region, []).append(key)
    regions = {region: f"missing {len(keys)}: {_names(keys)}" for region, keys in sorted(per_region.items())}
    if sources:
        states = sorted({str(s) for s in sources.values()})
        regions.setdefault(primary, f"replication status of {len(sources)} object(s): {', '.join(states)}")
    described = "; ".join(f"{region}: {text}" for region, text in regions.items())
    return StageFailed(
        f"replication did not complete within {timeout:g}s ({described}); no region was migrated", regions
    )
