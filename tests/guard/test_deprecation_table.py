"""TAP007 reads a table generated from the installed pulumi-aws, so `check` never imports the SDK."""

from __future__ import annotations

import json
import subprocess
import sys

from tapstack.guard.rules.deprecations import REGENERATE, TABLE, deprecations
from tests.helpers import ROOT


def test_the_committed_table_is_what_the_installed_sdk_says() -> None:
    # In a process of its own: reading the SDK imports pulumi_aws submodules one by one, which leaves the lazily
    # loaded packages of this test process (pulumi_aws.s3 ...) without their classes for every later test.
    probe = (
        "from tapstack.guard.rules.deprecations_table import read_sdk, render_table\n"
        "print(render_table(read_sdk()), end='')"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert TABLE.read_text() == done.stdout, f"pulumi-aws changed: run `{REGENERATE}` and commit"


def test_the_table_flags_the_seed_mistakes() -> None:
    assert deprecations("aws:s3/bucketV2:BucketV2").resource == "s3.BucketV2 has been deprecated in favor of s3.Bucket"
    assert {"versioning", "serverSideEncryptionConfiguration", "lifecycleRules"} <= set(
        deprecations("aws:s3/bucket:Bucket").properties
    )


def test_checking_a_graph_loads_neither_pulumi_nor_the_aws_sdk_nor_the_table_generator() -> None:
    probe = (
        "import json, sys\n"
        "from tapstack.graph import Graph, Resource\n"
        "from tapstack.guard.engine import evaluate\n"
        "graph = Graph('dev', [Resource('urn:b', 'aws:s3/bucketV2:BucketV2', 'b', inputs={'versioning': {}})])\n"
        "report = evaluate(graph)\n"
        "print(json.dumps({'tap007': [v.message for v in report.violations if v.rule == 'TAP007'],\n"
        "  'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'parliament')\n"
        "                   or m.endswith('deprecations_table'))}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["tap007"][0].startswith("aws:s3/bucketV2:BucketV2 is deprecated")
