"""The synth command as a user meets it: tables, JSON, graph files, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstack.cli import main
from tapstack.graph import Graph
from tests.helpers import EXAMPLES

FOUNDATION = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")


def test_synth_prints_resources_by_type_and_region(foundation: Graph, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--config", FOUNDATION]) == 0
    out = capsys.readouterr().out
    assert f"{len(foundation.aws_resources())} AWS resources in 1 region(s)" in out
    assert "autoscaling:Group" in out
    assert "s3:BucketServerSideEncryptionConfiguration" in out


def test_synth_writes_a_graph_that_reads_back(
    foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "graph.json"
    assert main(["synth", "--config", FOUNDATION, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    graph = Graph.read(out)
    assert summary["resources"] == len(graph.aws_resources()) == len(foundation.aws_resources())
    assert graph.outputs["use1_data_bucket"] == "tapstack-data-use1-123456789012-dev"
    assert {r["region"] for r in summary["by_type_region"]} == {"us-east-1"}


def test_set_overrides_the_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--config", FOUNDATION, "--set", "natStrategy=none", "--json"]) == 0
    counts = {r["type"]: r["count"] for r in json.loads(capsys.readouterr().out)["by_type_region"]}
    assert "aws:ec2/natGateway:NatGateway" not in counts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "--set",
                'vpcCidrs={"us-east-1": "10.0.0.0/16", "eu-west-1": "10.0.0.0/20"}',
                "--set",
                'regions=["us-east-1","eu-west-1"]',
            ],
            "error: tapstack:vpcCidrs: got {'us-east-1': '10.0.0.0/16', 'eu-west-1': '10.0.0.0/20'}; "
            "VPCs of us-east-1 and eu-west-1 overlap",
        ),
        (["--set", "azCount=9"], "error: tapstack:azCount: got '9'; expected a whole number from 2 to 6"),
        (["--set", "nonsense"], "error: --set 'nonsense': expected key=value"),
        (["--config", "missing.yaml"], "error: missing.yaml: no such stack file"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_plaintext_secret_in_stack_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("config:\n  tapstack:migrationToken: hunter2\n")
    assert main(["synth", "--config", str(stack)]) == 2
    assert "must not be stored in plain text" in capsys.readouterr().err
