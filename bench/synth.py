"""Benchmark: whole-process `tapstack synth` against the naive floor it is built on.

The floor is a bare Pulumi program that registers the same number of ``aws.s3.Bucket`` under no-op mocks, run
in a fresh interpreter the same way: what any Pulumi Python program of that size pays for imports, the
runtime and the garbage collector. The ratio (tapstack / floor, medians of the same run) is the headline;
target <= 0.75 (issue 27). Prints JSON on stdout.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from floor import run_floor

ROOT = Path(__file__).resolve().parents[1]
TAPSTACK = Path(sys.executable).parent / "tapstack"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1"]
REPEATS = 3


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def _resources(regions: list[str]) -> int:
    argv = [str(TAPSTACK), "synth", "--json", "--set", f"regions={json.dumps(regions)}"]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
    return int(json.loads(done.stdout)["resources"])


def measure(regions: list[str]) -> dict[str, object]:
    resources = _resources(regions)
    synth_argv = [str(TAPSTACK), "synth", "--set", f"regions={json.dumps(regions)}"]
    synth, floor = [], []
    for _ in range(REPEATS):  # interleaved, so drift on a shared machine hits both alike
        synth.append(_timed(synth_argv))
        floor.append(run_floor(resources, ROOT))
    s, f = statistics.median(synth), statistics.median(floor)
    return {
        "regions": len(regions),
        "resources": resources,
        "tapstack_synth_seconds": round(s, 3),
        "floor_seconds": round(f, 3),
        "ratio": round(s / f, 3),
    }


def main() -> None:
    results = [measure(REGIONS[:n]) for n in (1, 3, 6)]
    print(
        json.dumps(
            {
                "what": "whole-process `tapstack synth` vs a bare mocks program registering as many aws.s3.Bucket",
                "target_ratio": 0.75,
                "repeats": REPEATS,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
