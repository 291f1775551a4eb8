"""Benchmark: what starting `tapstack` costs before a command runs, against a bare interpreter.

`tapstack --help` and an argument error, whole process (the console script), against `python -c pass`, run
interleaved so drift on a shared machine hits both alike; medians of REPEATS. Target ratio <= 3. Prints JSON.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAPSTACK = Path(sys.executable).parent / "tapstack"
REPEATS = 21
CASES = {"help": ["--help"], "argument_error": ["synth", "--bogus"], "command_help": ["release", "--help"]}


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, cwd=ROOT, check=False)
    return time.perf_counter() - started


def main() -> None:
    floor_argv = [sys.executable, "-c", "pass"]
    results = {}
    for name, args in CASES.items():
        ours, floor = [], []
        for _ in range(REPEATS):
            ours.append(_timed([str(TAPSTACK), *args]))
            floor.append(_timed(floor_argv))
        o, f = statistics.median(ours), statistics.median(floor)
        results[name] = {
            "argv": ["tapstack", *args],
            "seconds": round(o, 4),
            "python_pass_seconds": round(f, 4),
            "ratio": round(o / f, 2),
        }
    print(json.dumps({"target_ratio": 3.0, "repeats": REPEATS, "results": results}, indent=2))


if __name__ == "__main__":
    main()
