"""TAP003 (every bucket hardened) and TAP010 (deployments replicated to every secondary region).

With pulumi-aws v7 a bucket's settings are separate resources pointing at it (versioning, encryption,
public access block, policy, ownership controls), so both rules work on the whole graph: they find each
bucket's companions, and accept the deprecated inline arguments too (TAP007 reports those separately, so
one mistake yields one finding per concern, never two).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ...graph import Graph, Resource
from ...resource_types import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_ENCRYPTION_V2,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_REPLICATION,
    BUCKET_V2,
    BUCKET_VERSIONING,
    BUCKET_VERSIONING_V2,
)
from ..facts import Index, dig, flag, is_unknown, items, number, region_code_of
from ..model import Context, Finding, Scope, Severity, rule

BUCKET_TYPES = (BUCKET, BUCKET_V2)
VERSIONING_TYPES = (
    BUCKET_VERSIONING,
    BUCKET_VERSIONING_V2,
)
ENCRYPTION_TYPES = (
    BUCKET_ENCRYPTION,
    BUCKET_ENCRYPTION_V2,
)

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
DEPLOYMENT_WORDS = frozenset({"deploy", "deployment", "deployments", "artifact", "artifacts", "release", "releases"})
"""Name tokens that mark a bucket family as deployment storage, which TAP010 requires to be replicated."""


def _versioned(index: Index, bucket: Resource) -> bool | None:
    states: list[Any] = [
        dig(v.prop("versioningConfiguration"), "status") for v in index.pointing_at(bucket, "bucket", *VERSIONING_TYPES)
    ]
    inline = [
        dig(bucket.prop("versioning"), "enabled"),
        *(dig(v, "enabled") for v in items(bucket.prop("versionings"))),
    ]
    if any(s == "Enabled" for s in states) or any(flag(v) for v in inline):
        return True
    if any(is_unknown(s) for s in states):
        return None
    return False


def _encryption_rules(index: Index, bucket: Resource) -> list[dict[str, Any]]:
    rules = [r for c in index.pointing_at(bucket, "bucket", *ENCRYPTION_TYPES) for r in items(c.prop("rules"))]
    rules += items(dig(bucket.prop("serverSideEncryptionConfiguration"), "rule"))
    rules += [r for c in items(bucket.prop("serverSideEncryptionConfigurations")) for r in items(dig(c, "rules"))]
    return [r for r in rules if isinstance(r, dict)]


def _encryption_findings(index: Index, bucket: Resource) -> Iterator[Finding]:
    rules = _encryption_rules(index, bucket)
    algorithms = [dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules]
    if not any(a in SSE_ALGORITHMS or is_unknown(a) for a in algorithms):
        yield Finding(
            bucket,
            f"bucket {bucket.name!r} has no default encryption configuration",
            remediation=("add aws.s3.BucketServerSideEncryptionConfiguration (AES256, or aws:kms with a bucket key)"),
        )
        return
    for r, algorithm in zip(rules, algorithms, strict=True):
        bucket_key = r.get("bucketKeyEnabled")
        if isinstance(algorithm, str) and algorithm.startswith("aws:kms") and flag(bucket_key) is not True:
            if is_unknown(bucket_key):
                continue
            yield Finding(
                bucket,
                f"bucket {bucket.name!r} encrypts with SSE-KMS without an S3 bucket key: one KMS request per "
                "object operation (cost, throttling)",
                remediation="set bucket_key_enabled=True on the encryption rule",
                severity=Severity.MEDIUM,
            )


def _public_access_findings(index: Index, bucket: Resource) -> Iterator[Finding]:
    blocks = index.pointing_at(bucket, "bucket", BUCKET_PUBLIC_ACCESS_BLOCK)
    if not blocks:
        yield Finding(bucket, f"bucket {bucket.name!r} has no public access block")
        return
    off = sorted({f for b in blocks for f in PAB_FLAGS if flag(b.prop(f)) is not True and not is_unknown(b.prop(f))})
    if off:
        yield Finding(blocks[0], f"public access block of bucket {bucket.name!r} leaves {', '.join(off)} off")


def _denies_insecure_transport(text: str) -> bool:
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    for st in items(doc.get("Statement") if isinstance(doc, dict) else None):
        if not isinstance(st, dict) or st.get("Effect") != "Deny":
            continue
        actions = items(st.get("Action"))
        secure = dig(st, "Condition", "Bool", "aws:SecureTransport")
        everyone = st.get("Principal") == "*" or "*" in items(dig(st, "Principal", "AWS"))
        objects = any(isinstance(r, str) and r.endswith("*") for r in items(st.get("Resource")))
        if ("s3:*" in actions or "*" in actions) and str(secure).lower() == "false" and everyone and objects:
            return True
    return False


def _tls_findings(index: Index, bucket: Resource) -> Iterator[Finding]:
    texts = [p.prop("policy") for p in index.pointing_at(bucket, "bucket", BUCKET_POLICY)] + [bucket.prop("policy")]
    texts = [t for t in texts if isinstance(t, str)]
    if any(is_unknown(t) for t in texts) or any(_denies_insecure_transport(t) for t in texts):
        return
    yield Finding(
        bucket,
        f"bucket {bucket.name!r} has no policy denying requests without TLS (aws:SecureTransport false)",
        remediation=(
            "add a BucketPolicy with the Deny s3:* statement on the bucket and bucket/* (lib/iam.tls_only_statement)"
        ),
    )


def _ownership_findings(index: Index, bucket: Resource) -> Iterator[Finding]:
    settings = [
        dig(o.prop("rule"), "objectOwnership") for o in index.pointing_at(bucket, "bucket", BUCKET_OWNERSHIP_CONTROLS)
    ]
    if any(s == "BucketOwnerEnforced" or is_unknown(s) for s in settings):
        return
    yield Finding(
        bucket,
        f"bucket {bucket.name!r} does not disable ACLs (no BucketOwnershipControls with BucketOwnerEnforced)",
        remediation="add aws.s3.BucketOwnershipControls(rule={'object_ownership': 'BucketOwnerEnforced'})",
    )


@rule(
    "TAP003",
    title="Hardened S3 buckets",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed=(
        "seed 000 #5: a bucket with only inline AES256 encryption and neither a public access block nor a "
        "bucket policy; seed 003 #5: buckets without a clear security baseline"
    ),
    remediation="give the bucket the full baseline (components/storage.HardenedBucket does all of it)",
    controls=("S3.1", "S3.5", "S3.8", "S3.12", "S3.14"),
)
def hardened_buckets(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every bucket: versioning, default encryption (bucket key with KMS), all four public access block
    flags, a TLS-only bucket policy, and ACLs disabled."""
    index = Index(graph)
    for bucket in index.of_type(*BUCKET_TYPES):
        if _versioned(index, bucket) is False:
            yield Finding(
                bucket,
                f"bucket {bucket.name!r} is not versioned: an overwrite or delete cannot be undone",
                remediation="add aws.s3.BucketVersioning(versioning_configuration={'status': 'Enabled'})",
            )
        yield from _encryption_findings(index, bucket)
        yield from _public_access_findings(index, bucket)
        yield from _tls_findings(index, bucket)
        yield from _ownership_findings(index, bucket)


def _family(bucket: Resource, region: str | None) -> tuple[str, ...] | None:
    """A bucket's name without its region: the same family in every region ("tapstack-deploy-*-dev")."""
    name = bucket.prop("bucket")
    if not isinstance(name, str) or is_unknown(name) or not region:
        return None
    drop = {region_code_of(region), region}
    return tuple("*" if t in drop else t for t in re.split(r"[-.]", name.replace(region, "*")))


def _rule_findings(config: Resource, rule_: dict[str, Any], target: Resource, region: str) -> Iterator[Finding]:
    where = f"replication rule {rule_.get('id') or '?'} to {target.name!r} ({region})"
    if rule_.get("status") not in ("Enabled", None) and not is_unknown(rule_.get("status")):
        yield Finding(config, f"{where} is not enabled")
    marker = dig(rule_, "deleteMarkerReplication", "status")
    if marker != "Enabled" and not is_unknown(marker):
        yield Finding(config, f"{where} does not replicate delete markers: a delete on the primary leaves stale copies")
    rtc = dig(rule_, "destination", "replicationTime")
    minutes = number(dig(rtc, "time", "minutes"))
    if dig(rtc, "status") != "Enabled" or minutes != 15:
        yield Finding(config, f"{where} has no Replication Time Control (15 minutes): replication has no SLA")
    if dig(rule_, "destination", "metrics", "status") != "Enabled":
        yield Finding(config, f"{where} has no replication metrics: RTC requires them and nobody sees a backlog")


def _unreplicated(members: dict[str, Resource], primary: str | None) -> Finding:
    if primary in members:
        others = ", ".join(sorted(r for r in members if r != primary))
        return Finding(
            members[primary],
            f"deployment bucket {members[primary].name!r} ({primary}) is not replicated to {others}: "
            "secondary regions never receive a release",
        )
    listed = ", ".join(f"{b.name!r} ({r})" for r, b in sorted(members.items()))
    return Finding(
        members[min(members)],
        f"deployment buckets {listed} replicate nowhere: a release written in one region never reaches the others",
    )


@rule(
    "TAP010",
    title="Multi-region replication",
    severity=Severity.HIGH,
    scope=Scope.STACK,
    seed=(
        "seed 003 #5/#11: deployment buckets in every region but no replication and no cross-region sync "
        "strategy, so a secondary region never received a release"
    ),
    remediation=(
        "replicate the primary deployment bucket to every secondary with aws.s3.BucketReplicationConfig: one "
        "rule per secondary, RTC 15 minutes, metrics, delete-marker replication (components/replication.py)"
    ),
    controls=("S3.7",),
)
def replicated_deployments(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Multi-region: each secondary's copy of a replicated (or deployment) bucket is a replication destination
    of the primary, with RTC and delete-marker replication."""
    index = Index(graph)
    regions = index.regions()
    if len(regions) < 2:
        return
    families: dict[tuple[str, ...], dict[str, Resource]] = defaultdict(dict)
    for bucket in index.of_type(*BUCKET_TYPES):
        region = index.region_of(bucket)
        family = _family(bucket, region)
        if family is not None and region is not None:
            families[family][region] = bucket
    for family, members in families.items():
        if len(members) < 2:
            continue
        configs = [(r, c) for r, b in members.items() for c in index.pointing_at(b, "bucket", BUCKET_REPLICATION)]
        if not configs:
            if DEPLOYMENT_WORDS & set(family):
                yield _unreplicated(members, index.primary_region())
            continue
        for source_region, config in configs:
            for region, target in sorted(members.items()):
                if region == source_region:
                    continue
                matching = [
                    r
                    for r in items(config.prop("rules"))
                    if isinstance(r, dict) and index.refers(dig(r, "destination", "bucket"), target, config)
                ]
                if not matching:
                    yield Finding(
                        config,
                        f"bucket {target.name!r} ({region}) is not a destination of {config.name!r}: "
                        f"{region} never receives what lands in {source_region}",
                    )
                for rule_ in matching:
                    yield from _rule_findings(config, rule_, target, region)
