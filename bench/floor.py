"""The naive floor the benchmarks compare TapStack with: a bare Pulumi program of N ``aws.s3.Bucket``.

Run in a fresh interpreter under no-op mocks, as any Pulumi Python program of that size would be in a unit
test: it pays pulumi's and pulumi_aws's imports, the runtime's per-resource work and the garbage collector,
and nothing of TapStack's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

FLOOR = """
import sys
import pulumi
import pulumi_aws as aws
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "-id", args.inputs]

    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), project="floor", stack="bench", preview=False)

def program():
    for i in range(int(sys.argv[1])):
        aws.s3.Bucket(f"bucket-{i}", bucket=f"floor-bucket-{i}")

_sync_await(run_pulumi_func(program))
"""


def run_floor(resources: int, cwd: Path) -> float:
    """Whole-process seconds of the floor program registering ``resources`` buckets."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, str(resources)], check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started
