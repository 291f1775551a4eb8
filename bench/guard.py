"""Benchmark: whole-process `tapstack check --graph` of a graph of at least 525 AWS resources; target <= 0.5 s.

The graph is the platform example synthesized over as many regions as it takes to reach the size (written once,
outside the timing); each run is a fresh ``tapstack`` process, as a user or CI runs it. ``python -c pass`` is
timed in the same run as the floor every Python command pays. One more run under ``python -X importtime``
tells whether the check loaded pulumi, pulumi_aws or parliament (none of them is needed: TAP007 and TAP002 read
tables generated from them). ``--src DIR`` times another checkout's ``src`` (e.g. ``git archive <commit> | tar -x
-C DIR``) in the same interleaved runs, for a before/after on the same machine load. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _check(graph: Path) -> list[str]:
    """The console script's entry point (collector off, no teardown), run by this interpreter."""
    entry = "import sys; sys.argv[0] = 'tapstack'; from tapstack.cli import entry; entry()"
    return [sys.executable, "-c", entry, "check", "--graph", str(graph)]


def _run(argv: list[str], src: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else None
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode not in (0, 1):  # 1: violations found, still a finished check
        raise SystemExit(f"{' '.join(argv)} failed with exit code {done.returncode}:\n{done.stderr[-2000:]}")
    return done


def _timed(argv: list[str], src: Path | None = None) -> float:
    started = time.perf_counter()
    _run(argv, src)
    return time.perf_counter() - started


def _loaded(argv: list[str], src: Path | None = None) -> dict[str, bool]:
    done = _run([sys.executable, "-X", "importtime", *argv[1:]], src)
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return {
        f"imports_{top}": any(m == top or m.startswith(f"{top}.") for m in modules)
        for top in ("pulumi", "pulumi_aws", "parliament")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, help="also time this checkout's src/ (before/after)")
    args = parser.parse_args()
    other = args.src.resolve() if args.src is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "graph.json"
        regions, resources = _graph(graph)
        check = _check(graph)
        floor = [sys.executable, "-c", "pass"]
        checks, floors, others = [], [], []
        for _ in range(REPEATS):  # interleaved, so drift on a shared machine hits all alike
            checks.append(_timed(check))
            floors.append(_timed(floor))
            if other is not None:
                others.append(_timed(check, other))
        loaded = _loaded(check)
        loaded_other = _loaded(check, other) if other is not None else {}
    seconds = statistics.median(checks)
    report: dict[str, object] = {
        "what": "whole-process `tapstack check --graph` (all rules) vs the 0.5 s target",
        "regions": regions,
        "resources": resources,
        "repeats": REPEATS,
        "check_seconds": round(seconds, 3),
        "python_pass_seconds": round(statistics.median(floors), 3),
        "target_seconds": TARGET_SECONDS,
        "ratio_to_target": round(seconds / TARGET_SECONDS, 3),
        **loaded,
    }
    if other is not None:
        before = statistics.median(others)
        report["other"] = {
            "src": str(args.src),
            "check_seconds": round(before, 3),
            "ratio_to_target": round(before / TARGET_SECONDS, 3),
            **loaded_other,
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
