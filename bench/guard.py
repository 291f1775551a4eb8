"""Benchmark: whole-process `tapstack check --graph` of a graph of at least 525 AWS resources; target <= 0.5 s.

The graph is the platform example synthesized over as many regions as it takes to reach the size (written once,
outside the timing); each run is a fresh ``tapstack`` process, as a user or CI runs it. ``python -c pass`` is
timed in the same run as the floor every Python command pays. One more run under ``python -X importtime``
tells whether the check loaded pulumi or pulumi_aws (it must not: TAP007 reads a generated table). Prints JSON.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAPSTACK = Path(sys.executable).parent / "tapstack"
CONFIG = ROOT / "examples" / "platform" / "Pulumi.dev.yaml"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1"]
MIN_RESOURCES = 525
TARGET_SECONDS = 0.5
REPEATS = 5


def _synth(regions: list[str], out: Path) -> int:
    argv = [str(TAPSTACK), "synth", "--config", str(CONFIG), "--json", "--out", str(out)]
    argv += ["--set", f"regions={json.dumps(regions)}", "--set", "vpcCidrs={}"]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
    return int(json.loads(done.stdout)["resources"])


def _graph(out: Path) -> tuple[int, int]:
    """(regions, resources) of the smallest platform graph with at least MIN_RESOURCES AWS resources."""
    for n in range(3, len(REGIONS) + 1):
        resources = _synth(REGIONS[:n], out)
        if resources >= MIN_RESOURCES:
            return n, resources
    raise SystemExit(f"{len(REGIONS)} regions give fewer than {MIN_RESOURCES} resources")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1):  # 1: violations found, still a finished check
        raise SystemExit(f"{' '.join(argv)} failed with exit code {done.returncode}:\n{done.stderr[-2000:]}")
    return done


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    _run(argv)
    return time.perf_counter() - started


def _loaded_modules(argv: list[str]) -> set[str]:
    done = _run(argv)
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "graph.json"
        regions, resources = _graph(graph)
        check = [str(TAPSTACK), "check", "--graph", str(graph)]
        floor = [sys.executable, "-c", "pass"]
        checks, floors = [], []
        for _ in range(REPEATS):  # interleaved, so drift on a shared machine hits both alike
            checks.append(_timed(check))
            floors.append(_timed(floor))
        modules = _loaded_modules([sys.executable, "-X", "importtime", *check])
    seconds = statistics.median(checks)
    print(
        json.dumps(
            {
                "what": "whole-process `tapstack check --graph` (all rules) vs the 0.5 s target",
                "regions": regions,
                "resources": resources,
                "repeats": REPEATS,
                "check_seconds": round(seconds, 3),
                "python_pass_seconds": round(statistics.median(floors), 3),
                "target_seconds": TARGET_SECONDS,
                "ratio_to_target": round(seconds / TARGET_SECONDS, 3),
                "imports_pulumi": any(m == "pulumi" or m.startswith("pulumi.") for m in modules),
                "imports_pulumi_aws": any(m == "pulumi_aws" or m.startswith("pulumi_aws.") for m in modules),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
