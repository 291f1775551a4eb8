"""Benchmark: the whole test suite, as README runs it, against the 45 s target of pytest time.

Runs README's test command (``pytest -n 3``; ``--cov`` too unless ``--no-cov``) in a fresh process, reads the
time pytest reports in its summary line and the process's CPU seconds, and prints JSON: seconds, tests passed,
CPU/wall (how much of the two cores the run used) and the ratio to the target. One run: the suite is minutes long
and its tests interleave deploys, so repeats would only multiply the wait.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 45.0
WORKERS = "3"
COVERAGE = ["--cov=tapstack", "--cov-report=term-missing:skip-covered", "--cov-fail-under=90"]
SUMMARY = re.compile(r"(\d+) passed.* in ([0-9.]+)s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cov", action="store_true", help="without coverage measurement")
    args = parser.parse_args()
    argv = [sys.executable, "-m", "pytest", "-n", WORKERS, "-q", "-p", "no:cacheprovider"]
    argv += [] if args.no_cov else COVERAGE
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = SUMMARY.search(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")
    if done.returncode != 0 or found is None:
        sys.exit(f"the suite did not pass (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    seconds = float(found.group(2))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps(
            {
                "what": "README's test command, whole suite: pytest's own time",
                "coverage": not args.no_cov,
                "workers": int(WORKERS),
                "passed": int(found.group(1)),
                "pytest_seconds": seconds,
                "wall_seconds": round(wall, 1),
                "cpu_seconds": round(cpu, 1),
                "cores_used": round(cpu / wall, 2),
                "target_seconds": TARGET_SECONDS,
                "ratio_to_target": round(seconds / TARGET_SECONDS, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
