"""`tapstack check` as a user meets it: exit codes, tables grouped by rule, JSON, thresholds, suppressions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstack.cli import main
from tapstack.cli.common import console
from tapstack.graph import Graph
from tapstack.guard.engine import evaluate
from tapstack.guard.rules import RULES, RULES_BY_ID
from tapstack.guard.suppressions import Suppression, SuppressionError, parse
from tests.helpers import EXAMPLES

from .fixtures.seeds import FIXTURES, UPDATE_FIXTURES
from .helpers import synth_program

FOUNDATION = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wrap at the terminal width; assert on unwrapped lines."""
    monkeypatch.setattr(console, "width", 250)


@pytest.fixture
def broken_graph(tmp_path: Path) -> Path:
    """A graph with one critical (TAP002) and one medium (TAP007) problem, written like `synth --out`."""
    path = tmp_path / "graph.json"
    graph = synth_program(FIXTURES["broad_iam"][0])
    graph.resources += synth_program(FIXTURES["bucket_v2"][0]).resources
    graph.write(path)
    return path


def write(tmp_path: Path, text: str, name: str = "suppressions.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_foundation_example_passes(foundation: Graph, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", FOUNDATION]) == 0
    out = capsys.readouterr().out
    resources = len(foundation.aws_resources())
    assert (
        f"PASS stack dev: 0 violation(s) at or above low, 0 suppressed, {len(RULES)} rules over {resources} AWS "
        "resources" in out
    )


def test_violations_exit_1_grouped_by_rule_with_counts_and_fixes(
    broken_graph: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--graph", str(broken_graph)]) == 1
    out = capsys.readouterr().out
    assert "TAP002 Least-privilege IAM: 3 violation(s)" in out
    assert "TAP007 No deprecated resources or arguments: 1 violation(s)" in out
    assert "fix: list exact actions on exact ARNs" in out
    assert "FAIL stack dev: 4 violation(s) at or above low" in out


def test_severity_threshold_hides_and_ignores_lower_findings(
    broken_graph: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--graph", str(broken_graph), "--severity", "high", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False
    assert {v["rule"] for v in report["violations"]} == {"TAP002"}
    assert report["below_threshold"] == 1
    assert {r["id"]: r["violations"] for r in report["rules"]}["TAP007"] == 0


def test_json_report_shape(broken_graph: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--graph", str(broken_graph), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in report["rules"]] == list(RULES_BY_ID)
    assert report["violations"][0] == {
        "rule": "TAP002",
        "severity": "critical",
        "urn": "urn:pulumi:dev::tapstack::pulumi:pulumi:Stack$aws:iam/rolePolicy:RolePolicy::fn-policy",
        "name": "fn-policy",
        "message": "policy: statement #1 allows 's3:*' (all 163 s3 actions, and every action AWS adds later)",
        "remediation": "list the exact actions the principal calls (lib/iam.statement refuses wildcards)",
    }


def test_suppressions_are_listed_with_their_reason_and_stale_ones_flagged(
    broken_graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suppressions = write(
        tmp_path,
        "suppressions:\n"
        "  - {rule: TAP002, resource: fn-policy, reason: 'break-glass role, reviewed in SEC-1'}\n"
        "  - {rule: TAP007, resource: data, reason: 'migrating to aws.s3.Bucket in PLAT-7'}\n"
        "  - {rule: TAP004, resource: gone, reason: 'alarm removed last sprint'}\n",
    )
    assert main(["check", "--graph", str(broken_graph), "--suppressions", suppressions]) == 0
    out = capsys.readouterr().out
    assert "break-glass role, reviewed in SEC-1" in out
    assert "unused suppression: TAP004 on gone matches no violation; remove it" in out
    assert "PASS stack dev: 0 violation(s) at or above low, 4 suppressed" in out


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "suppressions:\n  - {rule: TAP002, resource: fn-policy}\n",
            "suppressions[0]: 'reason' is required and must be non-empty text (say why this finding is "
            "acceptable here)",
        ),
        ("suppressions:\n  - {rule: TAP002, resource: fn-policy, reason: '  '}\n", "'reason' is required"),
        (
            "suppressions:\n  - {rule: TAP099, resource: x, reason: y}\n",
            "unknown rule 'TAP099'; known: TAP001, TAP002",
        ),
        ("suppressions:\n  - {rule: TAP002, resource: x, reason: y, until: 2025}\n", "unknown key(s) until"),
        ("- {rule: TAP002}\n", "expected a mapping with one key, 'suppressions', holding a list"),
    ],
)
def test_bad_suppressions_exit_2_with_one_line(
    broken_graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, error: str
) -> None:
    assert main(["check", "--graph", str(broken_graph), "--suppressions", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and error in " ".join(err.split())


def test_missing_suppressions_file_and_graph_with_config_are_user_errors(
    broken_graph: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--graph", str(broken_graph), "--suppressions", "nope.yaml"]) == 2
    assert "nope.yaml: no such suppressions file" in capsys.readouterr().err
    assert main(["check", "--graph", str(broken_graph), "--config", FOUNDATION]) == 2
    assert "--graph reads a finished graph" in capsys.readouterr().err


def test_duplicate_suppression_is_an_error() -> None:
    entry = {"rule": "TAP002", "resource": "x", "reason": "y"}
    with pytest.raises(SuppressionError, match=r"TAP002 on 'x' is listed twice"):
        parse({"suppressions": [entry, entry]}, "f.yaml", RULES_BY_ID)


def test_suppression_matches_by_logical_name_or_urn_and_only_its_rule() -> None:
    graph = synth_program(FIXTURES["alarm_without_actions"][0])
    urn = next(r.urn for r in graph.resources if r.name == "cpu-high")
    by_urn = evaluate(graph, suppressions=[Suppression("TAP004", urn, "r")])
    assert by_urn.violations == [] and len(by_urn.suppressed) == 2
    other_rule = evaluate(graph, suppressions=[Suppression("TAP005", "cpu-high", "r")])
    assert len(other_rule.violations) == 2 and other_rule.unused == [Suppression("TAP005", "cpu-high", "r")]


@pytest.fixture
def object_lock_update(tmp_path: Path) -> tuple[str, str, str]:
    """(deployed graph, changed graph, the bucket's URN) of the update seed: Object Lock switched on."""
    deployed, changed, _ = UPDATE_FIXTURES["object_lock_replaces_the_deployment_bucket"]
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    synth_program(deployed).write(old)
    graph = synth_program(changed)
    graph.write(new)
    [bucket] = graph.of_type("aws:s3/bucket:Bucket")
    return str(old), str(new), bucket.urn


def test_check_against_the_deployed_graph_fails_on_a_destructive_change(
    object_lock_update: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, _ = object_lock_update
    assert main(["check", "--graph", new]) == 0
    capsys.readouterr()
    assert main(["check", "--graph", new, "--against", old]) == 1
    out = capsys.readouterr().out
    assert "s3:Bucket deploy  objectLockEnabled forces replacement  DESTRUCTIVE" in out
    assert "TAP013 No unacknowledged data loss in an update: 1 violation(s)" in out
    assert "replaces deploy (objectLockEnabled forces it): destroys deployment bucket:" in out


def test_allow_replace_naming_the_urn_accepts_the_loss(
    object_lock_update: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, urn = object_lock_update
    assert main(["check", "--graph", new, "--against", old, "--allow-replace", urn, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["changes"]["summary"]["destructive"] == 1
    assert data["unused_allow_replace"] == []


def test_allow_replace_of_another_urn_still_fails_and_is_reported_unused(
    object_lock_update: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, urn = object_lock_update
    other = urn.replace("::deploy", "::data")
    assert main(["check", "--graph", new, "--against", old, "--allow-replace", other, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [v["rule"] for v in data["violations"]] == ["TAP013"]
    assert data["unused_allow_replace"] == [other]


def test_allow_replace_without_against_is_a_usage_error(
    object_lock_update: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, new, urn = object_lock_update
    assert main(["check", "--graph", new, "--allow-replace", urn]) == 2
    assert "--allow-replace accepts a change to a deployed stack" in capsys.readouterr().err
