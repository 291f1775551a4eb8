"""Benchmark: `tapstack release` of 10 and 100 artifacts to the three-region platform in the emulator.

One emulator and one deploy of examples/platform, the simulated fleet running the real agents, then a release
per case: the app archive of examples/app plus N-1 data files (64 KiB each, distinct bytes, so nothing is
skipped). Reported per case: wall time and the seconds of each phase (package, upload, replication wait,
per-region migrate + converge + validate), with bake 0 so the numbers are the work, not the watch.

Floor, measured in the same run against the same emulator: plain sequential ``put_object`` of the same N
objects to the primary bucket (``upload_ratio_to_floor``) and one ``validate`` invoke per region
(``migrate_ratio_to_floor``: a region's migrate against a bare handler call). Prints JSON.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tapstack.cli import main as cli  # noqa: E402
from tapstack.emulator.fleet import Fleet  # noqa: E402
from tapstack.emulator.release_target import EmulatorTarget  # noqa: E402
from tapstack.emulator.server import Emulator  # noqa: E402
from tapstack.release import Options, StackOutputs, release  # noqa: E402
from tapstack.release.appspec import load_app_spec  # noqa: E402
from tapstack.release.package import Artifact, archive, build, version_prefix  # noqa: E402

CONFIG = ROOT / "examples" / "platform" / "Pulumi.dev.yaml"
APP = ROOT / "examples" / "app"
CASES = (10, 100)
DATA_BYTES = 64 * 1024
STAGED_INSTANCES = 20
STAGED_BATCHES = (0.0, 25.0, 100.0)
"""The staged case: every region's group scaled to 20 instances, examples/app released one box, 25 %, then all."""


def _package(version: str, count: int) -> tuple[Any, float]:
    started = time.perf_counter()
    body, files = archive(APP)
    prefix = version_prefix(version)
    artifacts = [Artifact.of(f"{prefix}app.tar.gz", body)]
    for i in range(count - 1):
        seed = f"{version}-{i}".encode()
        artifacts.append(Artifact.of(f"{prefix}data-{i:03d}.bin", (seed * (DATA_BYTES // len(seed) + 1))[:DATA_BYTES]))
    package = build(version, tuple(artifacts), load_app_spec(APP), files)
    return package, time.perf_counter() - started


def _floor(target: EmulatorTarget, package: Any) -> dict[str, float]:
    primary = target.outputs.region(target.outputs.primary)
    s3 = target.client("s3", primary.region)
    started = time.perf_counter()
    for artifact in package.objects:
        s3.put_object(Bucket=primary.bucket, Key=f"bench-floor/{artifact.key}", Body=artifact.body)
    upload = time.perf_counter() - started
    started = time.perf_counter()
    for region in target.outputs.names:
        target.invoke(region, {"action": "status"})
    invoke = (time.perf_counter() - started) / len(target.outputs.names)
    return {"upload_seconds": round(upload, 3), "invoke_seconds": round(invoke, 3)}


def _staged(emulator: Emulator, fleet: Fleet, target: EmulatorTarget, floor: dict[str, float]) -> dict[str, Any]:
    """A staged release of examples/app to 3 regions x STAGED_INSTANCES instances, bake 0 (the work, not the watch)."""
    for region in target.outputs.names:
        name = target.outputs.region(region).asg_name
        emulator.client("autoscaling", region).update_auto_scaling_group(
            AutoScalingGroupName=name, MaxSize=STAGED_INSTANCES, DesiredCapacity=STAGED_INSTANCES
        )
        fleet.converge(region)  # the new instances boot onto the current release first, as on AWS
    base, _ = _package("bench-base", 1)  # the release the rest of each region keeps serving during the stages
    if release(target, base, Options(bake=0, poll=0.2, converge_timeout=300)).outcome not in ("released", "noop"):
        raise SystemExit("the base release for the staged case failed")
    package, packaged = _package("bench-staged", 1)
    started = time.perf_counter()
    options = Options(bake=0, poll=0.2, converge_timeout=300, batches=STAGED_BATCHES)
    report = release(target, package, options)
    wall = time.perf_counter() - started + packaged
    if report.outcome != "released":
        raise SystemExit(f"staged release: {report.outcome}: {report.message}")
    calls = sum(2 * len(r.stages) for r in report.regions)  # one migrate and one validate per stage
    return {
        "instances_per_region": STAGED_INSTANCES,
        "batches": list(STAGED_BATCHES),
        "wall_seconds": round(wall, 3),
        "stages": {
            r.region: [[s["name"], s["percent"], len(s["instances"])] for s in r.stages] for r in report.regions
        },
        "regions": {r.region: {k: round(v, 3) for k, v in r.seconds.items()} for r in report.regions},
        "floor_invoke_seconds_x_calls": round(floor["invoke_seconds"] * calls, 3),
        "wall_ratio_to_invoke_floor": round(wall / (floor["invoke_seconds"] * calls), 2),
    }


def main() -> None:
    with Emulator.start() as emulator, tempfile.TemporaryDirectory() as tmp:
        outputs = Path(tmp) / "flat-outputs.json"
        os.environ.update(emulator.environment())
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            code = cli(
                ["up", "--local", "--config", str(CONFIG), "--endpoint", emulator.url, "--outputs", str(outputs)]
            )
        if code != 0:
            raise SystemExit(f"up --local failed with {code}")
        doc = json.loads(outputs.read_text())
        results: list[dict[str, Any]] = []
        with Fleet.start(emulator, doc, enforce_iam=True) as fleet:
            target = EmulatorTarget(emulator, StackOutputs.parse(doc, str(outputs)), fleet)
            cases = () if "--staged-only" in sys.argv else CASES
            for count in cases:
                package, packaged = _package(f"bench-{count}", count)
                floor = _floor(target, package)
                started = time.perf_counter()
                report = release(target, package, Options(bake=0, poll=0.2, converge_timeout=120))
                wall = time.perf_counter() - started + packaged
                if report.outcome != "released":
                    raise SystemExit(f"release of {count} artifacts: {report.outcome}: {report.message}")
                regions = {
                    r.region: {k: round(v, 3) for k, v in r.seconds.items()}
                    | {"migrate_converge_seconds": round(r.seconds.get("migrate", 0) + r.seconds.get("converge", 0), 3)}
                    for r in report.regions
                }
                migrate_mean = sum(r.seconds.get("migrate", 0.0) for r in report.regions) / len(report.regions)
                results.append(
                    {
                        "artifacts": count,
                        "bytes": sum(len(a.body) for a in package.objects),
                        "wall_seconds": round(wall, 3),
                        "phases": {
                            "package_seconds": round(packaged, 3),
                            "upload_seconds": report.phases.get("upload"),
                            "replication_wait_seconds": report.phases.get("replication"),
                            "preflight_seconds": report.phases.get("preflight"),
                        },
                        "regions": regions,
                        "floor": floor,
                        "upload_ratio_to_floor": round(float(report.phases["upload"]) / floor["upload_seconds"], 3),
                        "migrate_ratio_to_floor": round(migrate_mean / floor["invoke_seconds"], 3),
                    }
                )
            staged_floor = _floor(target, _package("bench-floor", 1)[0])
            staged = _staged(emulator, fleet, target, staged_floor)
    print(
        json.dumps(
            {"config": str(CONFIG.relative_to(ROOT)), "regions": 3, "cases": results, "staged": staged}, indent=2
        )
    )


if __name__ == "__main__":
    main()
