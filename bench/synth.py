"""Benchmark: how long offline synthesis takes for 1, 2 and 3 regions, against the floor of importing pulumi_aws.

Each figure is measured in a fresh interpreter (what a user pays per `tapstack synth`), repeated, median reported.
Prints JSON on stdout.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
REPEATS = 3

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import pulumi_aws  # noqa: F401
t1 = time.perf_counter()
regions = json.loads(sys.argv[1])
if regions:
    from tapstack.program import main
    from tapstack.synth import synthesize
    g = synthesize(main, {"tapstack:regions": regions, "tapstack:migrationToken": "bench-token"},
                   secret_keys=["tapstack:migrationToken"])
    n = len(g.aws_resources())
else:
    n = 0
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "synth_s": t2 - t1, "resources": n}))
"""


def measure(regions: list[str]) -> dict[str, float]:
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(regions)], check=True, capture_output=True, text=True
        ).stdout
        wall = time.perf_counter() - started
        runs.append({**json.loads(out.strip().splitlines()[-1]), "process_s": wall})
    return {
        "resources": runs[0]["resources"],
        "synth_seconds": round(statistics.median(r["synth_s"] for r in runs), 3),
        "process_seconds": round(statistics.median(r["process_s"] for r in runs), 3),
        "import_pulumi_aws_seconds": round(statistics.median(r["import_s"] for r in runs), 3),
    }


def main() -> None:
    floor = measure([])
    results = {
        "floor": {"what": "fresh interpreter importing pulumi_aws only", **floor},
        "synth": [],
        "repeats": REPEATS,
    }
    for n in range(1, len(REGIONS) + 1):
        results["synth"].append({"regions": n, **measure(REGIONS[:n])})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
