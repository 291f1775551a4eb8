"""Benchmark: a local deploy of the two-region example cut to 1 and to 2 regions, phase by phase.

Each case runs in a fresh interpreter (its own emulator, what a user pays per `tapstack up --local`) and
reports the resources deployed and the seconds spent synthesizing, deploying and running the post-deploy
checks. Prints JSON on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "examples" / "two-region" / "Pulumi.dev.yaml"
REGIONS = ["us-east-1", "eu-west-1"]

CHILD = """
import json, sys, time
from pathlib import Path
from tapstack import stackfile
from tapstack.emulator.deploy import deploy, post_deploy_checks
from tapstack.emulator.server import Emulator
from tapstack.program import main
from tapstack.synth import synthesize

settings = stackfile.with_local_secret(stackfile.load(Path(sys.argv[1]), [f"regions={sys.argv[2]}"]))
t0 = time.perf_counter()
planned = synthesize(main, settings.values, stack=settings.stack, secret_keys=settings.secret_keys)
t1 = time.perf_counter()
with Emulator.start() as emulator:
    t2 = time.perf_counter()
    deployment = deploy(emulator, settings)
    t3 = time.perf_counter()
    checks = post_deploy_checks(emulator, deployment.graph)
    t4 = time.perf_counter()
print(json.dumps({
    "resources": len(deployment.graph.aws_resources()),
    "planned": len(planned.aws_resources()),
    "synth_seconds": round(t1 - t0, 3),
    "emulator_start_seconds": round(t2 - t1, 3),
    "deploy_seconds": round(t3 - t2, 3),
    "check_seconds": round(t4 - t3, 3),
    "checks_passed": sum(c.passed for c in checks),
    "checks": len(checks),
}))
"""


def measure(regions: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(CONFIG), json.dumps(regions)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {"regions": len(regions), **json.loads(out.strip().splitlines()[-1])}


def main() -> None:
    cases = [measure(REGIONS[:n]) for n in range(1, len(REGIONS) + 1)]
    print(json.dumps({"config": str(CONFIG.relative_to(CONFIG.parents[2])), "deploy": cases}, indent=2))


if __name__ == "__main__":
    main()
