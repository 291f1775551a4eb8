"""Benchmark: the migration handler's migrate latency and artifact throughput, and its Lambda archive size.

Runs the real handler in-process against in-process moto (no network): for manifests of 10, 100 and 1000
artifacts, a fresh release is uploaded and promoted REPEATS times and the median is reported. Artifacts are
ARTIFACT_BYTES each, so the figures measure the handler's per-artifact work (a GET and a SHA-256 each) and
moto's overhead, not bandwidth. The archive is the zip Lambda receives: `src/tapstack/handler/*.py` as the
top-level package `handler/`. Prints JSON on stdout (the handler's own log lines are kept off it).

"Cold" is the handler's first invocation in the process: it creates its clients then, from the process's one
boto3 session, which the setup has already used (so botocore's data files are loaded, as the handler shares
that session by design). Before measuring, the setup's heap (moto's state, the uploaded fixtures) is frozen
out of the garbage collector: a Lambda container holds none of it, and rescanning it on every full
collection would add hundreds of milliseconds that belong to the benchmark, not the handler.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "tapstack" / "handler"
sys.path.insert(0, str(ROOT / "src"))

from tapstack.handler.app import handler  # noqa: E402  (after the path, so a checkout runs it uninstalled)

REGION = "us-east-1"
BUCKET = "tapstack-deploy-bench-use1"
SIZES = (10, 100, 1000)
REPEATS = 3
ARTIFACT_BYTES = 4096


def archive_kb() -> dict[str, Any]:
    buffer = io.BytesIO()
    files = sorted(PACKAGE.glob("*.py"))  # the package's modules only: no __pycache__, as the infra ships it
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in files:
            zf.write(file, f"handler/{file.name}")
    return {"archive_kb": round(len(buffer.getvalue()) / 1024, 1), "archive_files": len(files)}


def platform() -> None:
    """The resources migrate touches: the bucket, the config parameter, the topic; the env that names them."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    config = {"project": "tapstack", "environment": "bench", "region": REGION, "primary_region": REGION}
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/tapstack/bench/config", Value=json.dumps(config), Type="SecureString"
    )
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(Name="bench", SecretString="x")
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="tapstack-deployments-bench")
    os.environ.update(
        {
            "TAPSTACK_REGION": REGION,
            "TAPSTACK_DEPLOYMENT_BUCKET": BUCKET,
            "TAPSTACK_CONFIG_PARAMETER": "/tapstack/bench/config",
            "TAPSTACK_SECRET_ARN": secret["ARN"],
            "TAPSTACK_TOPIC_ARN": topic["TopicArn"],
            "TAPSTACK_ROLE": "primary",
            "TAPSTACK_REPLICA_BUCKETS": "[]",
        }
    )


def release(name: str, count: int) -> str:
    s3 = boto3.client("s3", region_name=REGION)
    artifacts = []
    for i in range(count):
        data = (f"{name}/{i}:".encode() * ARTIFACT_BYTES)[:ARTIFACT_BYTES]
        key = f"artifacts/{name}/{i:05d}.bin"
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        artifacts.append({"key": key, "sha256": hashlib.sha256(data).hexdigest()})
    manifest = f"artifacts/manifests/{name}.json"
    body = json.dumps({"release": name, "artifacts": artifacts}).encode()
    s3.put_object(Bucket=BUCKET, Key=manifest, Body=body)
    return manifest


def migrate(migration_id: str, manifest: str) -> float:
    event = {"action": "migrate", "migration_id": migration_id, "manifest_key": manifest}
    with contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        response = handler(event, None)
        elapsed = time.perf_counter() - started
    if response["statusCode"] != 200:
        raise SystemExit(f"migrate {migration_id} failed: {response['body']['message']}")
    return elapsed


def main() -> None:
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    results: dict[str, Any] = {"what": "migrate against in-process moto", "artifact_bytes": ARTIFACT_BYTES}
    with mock_aws():
        platform()
        warmup = release("warmup", 1)
        gc.collect()
        gc.freeze()
        results["cold_first_migrate_ms"] = round(migrate("warmup", warmup) * 1000, 1)
        runs = []
        for size in SIZES:
            seconds = [migrate(f"m-{size}-{r}", release(f"r-{size}-{r}", size)) for r in range(REPEATS)]
            median = statistics.median(seconds)
            runs.append(
                {
                    "artifacts": size,
                    "latency_ms_median": round(median * 1000, 1),
                    "latency_ms_min": round(min(seconds) * 1000, 1),
                    "artifacts_per_second": round(size / median, 1),
                }
            )
        results["migrate"] = runs
        results["repeats"] = REPEATS
    results.update(archive_kb())
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
