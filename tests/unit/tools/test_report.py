"""The HTML report: every section, everything escaped, nothing fetched, and the IAM roles read right."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tapstack import diagram, report, resource_types
from tapstack.cli import main
from tapstack.graph import Graph
from tapstack.guard.rules import RULES
from tapstack.report import guard_results
from tests.helpers import EXAMPLES

WHEN = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FAKE_SVG = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/svg11.dtd">\n<svg></svg>'
)


def render(graph: Graph, **overrides: object) -> str:
    args: dict[str, object] = {
        "svg": FAKE_SVG,
        "guard": report.GuardResults(rules=[("TAP001", "explicit providers")]),
        "local": None,
        "generated": WHEN,
    }
    args.update(overrides)
    return report.render_html(graph, **args)  # type: ignore[arg-type]


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}" data-section="{name}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section {name}"
    return match.group(1)


def test_every_section_is_present_in_order(foundation: Graph) -> None:
    page = render(foundation)
    positions = [page.index(f'<section id="{name}"') for name in report.SECTIONS]
    assert positions == sorted(positions)
    assert page.startswith("<!DOCTYPE html>")
    assert "generated 2030-01-02 03:04 UTC" in page


def test_summary_counts_resources_per_type_and_region(foundation: Graph) -> None:
    summary = section(render(foundation), "summary")
    assert f'<div class="big">{len(foundation.aws_resources())}</div>AWS resources' in summary
    count = len(foundation.aws_resources())
    assert (
        f"<li>us-east-1 <span class=\"badge primary\">primary</span><span class='count'>{count} resources</span>"
        in summary
    )
    assert "<td><code>ec2:NetworkAclRule</code></td><td>11</td><td>11</td>" in summary


def test_self_contained_no_external_fetch_no_script(platform: Graph) -> None:
    svg = diagram.render(platform, "svg").decode() if diagram.dot_available() else FAKE_SVG
    page = render(platform, svg=svg)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<(?:script|link|iframe|object|embed)\b", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{report.CSP.replace(chr(39), "&#x27;")}">' in page


def test_everything_from_the_stack_is_escaped(foundation: Graph) -> None:
    evil = Graph.from_dict(foundation.to_dict())
    evil.stack = EVIL
    role = next(r for r in evil.resources if r.type == resource_types.ROLE)
    role.inputs["name"] = EVIL
    guard = report.GuardResults(violations=[report.Violation("TAP002", "high", EVIL, EVIL, EVIL)])
    local = report.LocalResults(
        outputs={EVIL: EVIL},
        checks=[report.CheckResult("us-east-1", EVIL, False, EVIL)],
        resources=1,
        fleet=[report.FleetRegion("us-east-1", EVIL, [EVIL])],
    )
    page = render(evil, guard=guard, local=local, svg=None, svg_error=EVIL)
    assert "<script" not in page and "<img" not in page
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    for name in ("guard", "iam", "outputs", "checks", "diagram", "fleet"):
        assert escaped in section(page, name), name
    assert f"<title>TapStack report · {escaped}</title>" in page


def test_guard_violations_most_severe_first_with_remediation(foundation: Graph) -> None:
    guard = report.GuardResults(
        violations=[
            report.Violation("TAP011", "medium", "use1-logs", "no retention", "set retentionInDays"),
            report.Violation("TAP002", "critical", "use1-role", "Action *", "name the actions"),
        ],
        suppressed=[(report.Violation("TAP005", "high", "use1-app-asg", "public", "private subnets"), "load test")],
        rules=[("TAP002", "least privilege"), ("TAP011", "retention")],
    )
    guard_html = section(render(foundation, guard=guard), "guard")
    assert guard_html.index("TAP002") < guard_html.index("TAP011")
    assert "2 violation(s)" in guard_html and "1 critical" in guard_html and "1 medium" in guard_html
    assert "<td>name the actions</td>" in guard_html
    assert "<h3>Suppressed (1)</h3>" in guard_html and "<td>load test</td>" in guard_html
    assert "2 rules checked" in guard_html


def test_guard_pass_says_how_many_rules_passed(foundation: Graph) -> None:
    passing = section(render(foundation, guard=report.GuardResults(rules=[("TAP001", "x")] * 11)), "guard")
    assert "no violations: 11 rules passed." in passing
    assert "<table" not in passing


def test_the_real_guard_runs_on_the_example(platform: Graph) -> None:
    results = guard_results(platform)
    assert [rid for rid, _ in results.rules] == [rule.id for rule in RULES]
    page = section(render(platform, guard=results), "guard")
    assert all(f"<code>{v.rule}</code>" in page for v in results.violations)


def test_iam_roles_with_trust_user_actions_and_resources(platform: Graph) -> None:
    roles = {r.name: r for r in report.iam_roles(platform)}
    assert len(roles) == len(platform.of_type(resource_types.ROLE)) == 13
    migration = roles["tapstack-migration-use1-dev"]
    assert migration.trusted == ["Service: lambda.amazonaws.com"]
    assert migration.used_by == "Lambda function tapstack-migration-use1-dev"
    by_sid = {p.sid: p for p in migration.permissions}
    read_config = by_sid["ReadMigrationConfig"]
    assert read_config.actions == ["ssm:GetParameter"]
    (parameter,) = read_config.resources
    assert parameter.startswith("arn:aws:ssm:us-east-1:123456789012:parameter/")
    assert parameter.endswith(" (ssm:Parameter use1-secrets-config)")
    assert "kms:ViaService" in by_sid["UseRegionKeyThroughServices"].condition
    replication = roles["tapstack-replication-use1-dev"]
    assert replication.used_by == "S3 bucket tapstack-deploy-use1-123456789012-dev"
    assert roles["tapstack-instance-use1-dev"].managed == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert [r.region for r in report.iam_roles(platform)][:4] == ["us-east-1"] * 4


def test_local_results_outputs_and_checks(foundation: Graph) -> None:
    local = report.LocalResults(
        outputs={"primary_region": "us-east-1", "regions": ["us-east-1"]},
        checks=[
            report.CheckResult("us-east-1", "validate", True, "ok"),
            report.CheckResult("eu-west-1", "validate", False, "failed: secret"),
        ],
        resources=70,
        seconds=3.25,
    )
    page = render(foundation, local=local)
    outputs = section(page, "outputs")
    assert "70 resources deployed into the emulator in 3.2s." in outputs
    assert "<td><code>regions</code></td><td><code>[&quot;us-east-1&quot;]</code></td>" in outputs
    checks = section(page, "checks")
    assert '<span class="badge pass">passed</span>' in checks and '<span class="badge fail">failed</span>' in checks


def test_local_sections_explain_what_is_missing(foundation: Graph) -> None:
    page = render(foundation)
    assert "Not available: run `tapstack report --local`" in section(page, "outputs")
    failed = render(foundation, local=report.LocalResults(error="bucket use1-deploy: AccessDenied"))
    assert "the local deploy failed: bucket use1-deploy: AccessDenied" in section(failed, "checks")


def test_fleet_section_shows_each_regions_line_primary_first_and_every_problem(platform: Graph) -> None:
    broken = "i-0abc: release 1.1.0 is unhealthy: GET /healthz answered 500; returned to 1.0.0"
    local = report.LocalResults(
        fleet=[
            report.FleetRegion("eu-west-1", "1/2 on 1.0.0, 1 unhealthy", [broken]),
            report.FleetRegion("us-east-1", "2/2 on 1.0.0, healthy"),
        ]
    )
    fleet = section(render(platform, local=local), "fleet")
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", fleet)
    assert rows == [
        'us-east-1</td><td><span class="badge pass">ok</span></td><td>2/2 on 1.0.0, healthy</td><td>',
        'eu-west-1</td><td><span class="badge fail">1 problem(s)</span></td><td>1/2 on 1.0.0, 1 unhealthy</td><td>'
        + html.escape(broken),
    ]


def test_fleet_section_says_why_there_is_no_fleet(foundation: Graph) -> None:
    assert "Not available: run `tapstack report --local` to boot the simulated fleet" in section(
        render(foundation), "fleet"
    )
    no_boot = report.LocalResults(fleet_error="ClientError: AccessDenied on sts:AssumeRole")
    assert "the simulated fleet did not boot: ClientError: AccessDenied on sts:AssumeRole" in section(
        render(foundation, local=no_boot), "fleet"
    )
    no_compute = section(render(foundation, local=report.LocalResults()), "fleet")
    assert "This stack runs no instances" in no_compute and "<table" not in no_compute


def test_without_graphviz_the_diagram_section_says_how_to_get_it(
    foundation: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.json"
    foundation.write(graph)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "r.html"
    assert main(["report", "--graph", str(graph), "--out", str(out)]) == 0
    assert "without diagram (Graphviz missing)" in capsys.readouterr().out
    assert "Not available: Graphviz `dot` is not installed" in section(out.read_text(), "diagram")


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")
def test_report_command_writes_the_page_with_the_diagram_inline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    config = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")
    assert main(["report", "--config", config, "--out", str(out), "--json"]) == 0
    assert '"diagram": true' in capsys.readouterr().out
    page = out.read_text()
    assert "<svg" in section(page, "diagram")
    assert "us-east-1 · primary" in html.unescape(section(page, "diagram"))  # Graphviz writes "-" as &#45;


def test_local_and_graph_together_is_a_usage_error(
    foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.json"
    foundation.write(graph)
    assert main(["report", "--graph", str(graph), "--local", "--out", str(tmp_path / "r.html")]) == 2
    assert "--local deploys the configured program" in capsys.readouterr().err


@pytest.mark.integration
def test_report_local_includes_the_emulator_outputs_checks_and_booted_fleet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    config = str(EXAMPLES / "two-region" / "Pulumi.dev.yaml")
    assert main(["report", "--config", config, "--local", "--out", str(out), "--json"]) == 0
    page = out.read_text()
    assert "<code>primary_region</code></td><td><code>us-east-1</code>" in section(page, "outputs")
    checks = section(page, "checks")
    # validate and foundation, in each of the two regions
    assert checks.count('<span class="badge pass">passed</span>') == 4 and "failed" not in checks
    assert checks.count("<td>foundation</td>") == 2
    # one instance per region ran the real agent once: nothing released yet, nothing wrong
    fleet = section(page, "fleet")
    for region in ("us-east-1", "eu-west-1"):
        assert (
            f'<td>{region}</td><td><span class="badge pass">ok</span></td><td>1 instance, no release yet</td>' in fleet
        )
    assert json.loads(capsys.readouterr().out)["local"]["fleet"] == {
        region: {"summary": "1 instance, no release yet", "problems": []} for region in ("eu-west-1", "us-east-1")
    }


class FakeEmulator:
    stopped = 0

    def stop(self) -> None:
        FakeEmulator.stopped += 1


@dataclass
class FakeCheck:
    region: str
    name: str
    passed: bool
    detail: str


@pytest.fixture
def fake_emulator(monkeypatch: pytest.MonkeyPatch) -> type[FakeEmulator]:
    """The report's side of the emulator contract: start, deploy, check, always stop."""
    from tapstack.emulator import server

    FakeEmulator.stopped = 0
    monkeypatch.setattr(server.Emulator, "start", classmethod(lambda cls, *a, **k: FakeEmulator()))
    return FakeEmulator


def test_local_report_shows_deployed_outputs_and_checks(
    fake_emulator: type[FakeEmulator], foundation: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tapstack.emulator import deploy

    deployed = Graph.from_dict(foundation.to_dict())
    deployed.outputs = {"primary_region": "us-east-1", "use1_vpc_id": "vpc-0123"}
    monkeypatch.setattr(deploy, "deploy", lambda emulator, settings: deploy.Deployment(deployed, 2.5))
    checks = [FakeCheck("us-east-1", "validate", False, "failed: secret")]
    monkeypatch.setattr(deploy, "post_deploy_checks", lambda emulator, graph: checks)
    out = tmp_path / "r.html"
    config = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")
    assert main(["report", "--config", config, "--local", "--out", str(out)]) == 1  # a failed check fails the run
    page = out.read_text()
    assert "<td><code>use1_vpc_id</code></td><td><code>vpc-0123</code></td>" in section(page, "outputs")
    assert f"{len(foundation.aws_resources())} resources deployed into the emulator in 2.5s." in section(
        page, "outputs"
    )
    assert '<span class="badge fail">failed</span></td><td>failed: secret</td>' in section(page, "checks")
    assert fake_emulator.stopped == 1


def test_an_unhealthy_simulated_fleet_fails_the_local_report(
    fake_emulator: type[FakeEmulator],
    foundation: Graph,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tapstack.cli import report as command
    from tapstack.emulator import deploy

    monkeypatch.setattr(deploy, "deploy", lambda emulator, settings: deploy.Deployment(foundation, 2.5))
    monkeypatch.setattr(deploy, "post_deploy_checks", lambda emulator, graph: [])
    problem = "i-0abc: cannot read releases/current.json: AccessDenied"
    fleet = [report.FleetRegion("us-east-1", "1 instance, no release yet", [problem])]
    monkeypatch.setattr(command, "fleet_results", lambda emulator, outputs: (fleet, None))
    out = tmp_path / "r.html"
    config = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")
    assert main(["report", "--config", config, "--local", "--out", str(out)]) == 1
    assert "1 instance(s) of the simulated fleet unhealthy" in capsys.readouterr().out
    assert html.escape(problem) in section(out.read_text(), "fleet")
    assert fake_emulator.stopped == 1


def test_a_failed_local_deploy_is_reported_and_the_emulator_stopped(
    fake_emulator: type[FakeEmulator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tapstack.emulator import deploy
    from tapstack.emulator.engine import DeployError

    def fail(emulator: object, settings: object) -> None:
        raise DeployError("use1-data (aws:s3/bucket:Bucket): AccessDenied")

    monkeypatch.setattr(deploy, "deploy", fail)
    out = tmp_path / "r.html"
    config = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")
    assert main(["report", "--config", config, "--local", "--out", str(out)]) == 1
    assert "local deploy failed: use1-data (aws:s3/bucket:Bucket): AccessDenied" in capsys.readouterr().out
    assert "the local deploy failed: use1-data" in section(out.read_text(), "outputs")
    assert fake_emulator.stopped == 1


def test_suppressions_are_shown_with_their_reason(foundation: Graph, tmp_path: Path) -> None:
    graph = Graph.from_dict(foundation.to_dict())
    group = next(r for r in graph.resources if r.type == resource_types.LOG_GROUP)
    for props in (group.inputs, group.outputs):
        props.pop("retentionInDays", None)
    open_findings = [v for v in guard_results(graph).violations if v.resource == group.name]
    assert [v.rule for v in open_findings] == ["TAP011"]
    accepted = tmp_path / "suppressions.yaml"
    accepted.write_text(
        f"suppressions:\n  - rule: TAP011\n    resource: {group.name}\n    reason: kept forever for audit\n"
    )
    results = guard_results(graph, accepted)
    assert not [v for v in results.violations if v.resource == group.name]
    assert [(v.rule, v.resource, reason) for v, reason in results.suppressed] == [
        ("TAP011", group.name, "kept forever for audit")
    ]


def test_a_bad_suppressions_file_is_a_usage_error(
    foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph, bad = tmp_path / "graph.json", tmp_path / "s.yaml"
    foundation.write(graph)
    bad.write_text("suppressions:\n  - rule: TAP001\n    resource: x\n")
    out = tmp_path / "r.html"
    assert main(["report", "--graph", str(graph), "--suppressions", str(bad), "--out", str(out)]) == 2
    assert "reason" in capsys.readouterr().err
    assert not out.exists()


def test_an_unwritable_out_is_one_line_error(
    foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.json"
    foundation.write(graph)
    taken = tmp_path / "r.html"
    taken.mkdir()  # a folder where the file would go
    assert main(["report", "--graph", str(graph), "--out", str(taken)]) == 2
    assert f"error: {taken}: cannot write" in capsys.readouterr().err


def test_not_action_is_never_shown_as_a_grant(foundation: Graph) -> None:
    graph = Graph.from_dict(foundation.to_dict())
    policy = next(r for r in graph.resources if r.type == resource_types.ROLE_POLICY)
    policy.inputs["policy"] = json.dumps(
        {"Statement": [{"Sid": "Wide", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}]}
    )
    (role,) = [r for r in report.iam_roles(graph) if r.permissions and r.permissions[0].sid == "Wide"]
    assert role.permissions[0].actions == ["everything except iam:*"]


def _deployed_with(graph: Graph, type_: str, name: str, **inputs: object) -> Graph:
    """``graph`` as deployed before a change: the named resource had these inputs."""
    deployed = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))
    [resource] = [r for r in deployed.resources if r.type == type_ and r.name == name]
    resource.inputs.update(inputs)
    return deployed


def test_changes_section_groups_by_region_and_marks_what_destroys_data(platform: Graph) -> None:
    from tapstack.diff import diff

    deployed = _deployed_with(platform, resource_types.BUCKET, "use1-deploy", objectLockEnabled=True)
    changes = section(render(platform, changes=diff(deployed, platform)), "changes")
    assert changes.startswith('<h2>Changes</h2><p><span class="badge fail">1 destructive</span>')
    assert [h for h in re.findall(r"<h3>([^<]*)</h3>", changes)] == ["eu-west-1", "us-east-1", "us-west-2"]
    assert (
        '<td><span class="badge replace">replace</span> <span class="badge fail">destructive</span></td>'
        "<td><code>s3:Bucket</code> use1-deploy</td><td><code>objectLockEnabled</code></td>"
        "<td><code>objectLockEnabled</code></td><td><ul><li>destroys the data it holds: deployment bucket: every "
        "release&#x27;s artifacts and migration records</li></ul></td>"
    ) in changes


def test_changes_section_says_no_changes_and_how_to_get_one(platform: Graph) -> None:
    from tapstack.diff import diff

    same = section(render(platform, changes=diff(platform, platform)), "changes")
    assert '<span class="badge pass">no changes</span>' in same
    assert "report --against OLD" in section(render(platform), "changes")


def test_report_against_a_deployed_graph_runs_tap013_and_counts_the_changes(
    platform: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, out = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "r.html"
    _deployed_with(platform, resource_types.BUCKET, "use1-deploy", objectLockEnabled=True).write(old)
    platform.write(new)
    assert main(["report", "--graph", str(new), "--against", str(old), "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["changes"]["destructive"], data["guard_violations"]) == (1, 1)
    assert "TAP013" in section(out.read_text(), "guard")


@pytest.mark.parametrize(
    ("out", "message"),
    [("missing/report.html", "does not exist"), ("report.pdf", "expected a file name ending in .html, .htm")],
)
def test_report_refuses_an_out_it_would_write_wrongly_before_any_work(
    out: str, message: str, foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.json"
    foundation.write(graph)
    target = tmp_path / out
    assert main(["report", "--graph", str(graph), "--out", str(target)]) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not target.exists() and not (tmp_path / "missing").exists()
