"""Benchmark: a local deploy of the three-region platform example, phase by phase, in a fresh interpreter.

Each case runs in its own interpreter (its own emulator: what a user pays per `tapstack up --local`) and
reports the resources deployed, the whole-process wall time and the seconds spent in each phase: synthesizing,
waiting for the emulator to start, deploying, the post-deploy checks and stopping the emulator. The child hands
the deploy's clients to the checks, as the CLI does.

``--src DIR`` measures another checkout's ``src`` the same way (e.g. ``git archive <commit> | tar -x -C DIR``)
for a before/after comparison in the same run; features that checkout lacks are skipped. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from floor import run_floor

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "platform" / "Pulumi.dev.yaml"
REPEATS = 3

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from tapstack import stackfile
from tapstack.emulator import server
from tapstack.emulator.deploy import deploy, post_deploy_checks
from tapstack.program import main
from tapstack.synth import synthesize

settings = stackfile.with_local_secret(stackfile.load(Path(sys.argv[1]), [f"regions={sys.argv[2]}"]))
t1 = time.perf_counter()
planned = synthesize(main, settings.values, stack=settings.stack, secret_keys=settings.secret_keys)
t2 = time.perf_counter()
emulator = server.Emulator.start()
t3 = time.perf_counter()
deployment = deploy(emulator, settings)
t4 = time.perf_counter()
shared = getattr(deployment, "clients", None)
graph = deployment.graph
checks = post_deploy_checks(emulator, graph, shared) if shared else post_deploy_checks(emulator, graph)
t5 = time.perf_counter()
emulator.stop()
t6 = time.perf_counter()
print(json.dumps({
    "resources": len(deployment.graph.aws_resources()),
    "planned": len(planned.aws_resources()),
    "import_seconds": round(t1 - t0, 3),
    "synth_seconds": round(t2 - t1, 3),
    "emulator_start_seconds": round(t3 - t2, 3),
    "deploy_seconds": round(t4 - t3, 3),
    "check_seconds": round(t5 - t4, 3),
    "stop_seconds": round(t6 - t5, 3),
    "checks_passed": sum(c.passed for c in checks),
    "checks": len(checks),
}))
"""


def run_once(src: Path, regions: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(CONFIG), json.dumps(regions)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    ).stdout
    wall = time.perf_counter() - started
    return {"wall_seconds": round(wall, 3), **json.loads(out.strip().splitlines()[-1])}


def measure(src: Path, regions: list[str]) -> dict[str, object]:
    """Medians over REPEATS fresh processes, per field."""
    runs = [run_once(src, regions) for _ in range(REPEATS)]
    medians = {key: round(statistics.median(float(r[key]) for r in runs), 3) for key in runs[0]}
    return {"regions": len(regions), **medians}


def whole_process(regions: list[str]) -> dict[str, object]:
    """`tapstack up --local` as a user runs it (the console script) against the floor program of as many
    buckets, interleaved, medians of REPEATS; target ratio <= 5.5."""
    tapstack = Path(sys.executable).parent / "tapstack"
    argv = [
        str(tapstack),
        "up",
        "--local",
        "--json",
        "--config",
        str(CONFIG),
        "--set",
        f"regions={json.dumps(regions)}",
    ]
    ups, floors, resources = [], [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        done = subprocess.run([*argv, "--outputs", os.devnull], check=True, capture_output=True, text=True, cwd=ROOT)
        ups.append(time.perf_counter() - started)
        resources = int(json.loads(done.stdout)["resources"])
        floors.append(run_floor(resources, ROOT))
    up, floor = statistics.median(ups), statistics.median(floors)
    return {
        "resources": resources,
        "tapstack_up_local_seconds": round(up, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(up / floor, 3),
        "target_ratio": 5.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, help="also measure this checkout's src/ (before/after)")
    args = parser.parse_args()
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    report: dict[str, object] = {
        "config": str(CONFIG.relative_to(ROOT)),
        "repeats": REPEATS,
        "deploy": measure(ROOT / "src", regions),
        "whole_process": whole_process(regions),
    }
    if args.src is not None:
        other = measure(args.src.resolve(), regions)
        report["other"] = {"src": str(args.src), **other}
        ours, theirs = report["deploy"], other
        assert isinstance(ours, dict)
        report["wall_ratio_to_other"] = round(float(ours["wall_seconds"]) / float(theirs["wall_seconds"]), 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
