"""The HTML report as a reader's browser renders it: every section there, no console errors, a real picture."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tapstack import diagram, resource_types
from tapstack.cli import main
from tapstack.graph import Graph
from tests.browser import chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium.find() is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def report_file(platform: Graph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("report")
    graph = work / "graph.json"
    platform.write(graph)
    out = work / "report.html"
    assert main(["report", "--graph", str(graph), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def page(report_file: Path) -> chromium.Page:
    return chromium.load(report_file)


def _section(dom: str, name: str) -> str:
    match = re.search(rf'<section id="{name}"[^>]*>(.*?)</section>', dom, re.DOTALL)
    assert match, f"section {name!r} is not in the rendered DOM"
    return match.group(1)


def test_the_page_renders_without_a_single_console_message(page: chromium.Page) -> None:
    # The report has no script: any console line is a CSP refusal (an external fetch) or an error.
    assert page.console == []


def test_every_section_is_rendered_with_its_heading(page: chromium.Page) -> None:
    headings = {
        "summary": "Summary",
        "diagram": "Architecture",
        "guard": "Guard results",
        "changes": "Changes",
        "iam": "IAM roles",
        "outputs": "Deployed outputs",
        "checks": "Post-deploy checks",
        "fleet": "Simulated fleet",
    }
    for name, heading in headings.items():
        assert f"<h2>{heading}</h2>" in _section(page.dom, name)


def test_summary_shows_three_regions_with_the_primary_marked(page: chromium.Page, platform: Graph) -> None:
    summary = _section(page.dom, "summary")
    assert re.search(r"<li>us-east-1 <span class=\"badge primary\">primary</span>", summary)
    for region in ("us-west-2", "eu-west-1"):
        assert f"<li>{region} <span" in summary
    assert f'<div class="big">{len(platform.aws_resources())}</div>AWS resources' in summary


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed: the report has no diagram")
def test_the_diagram_is_inline_svg_with_one_cluster_per_region(page: chromium.Page) -> None:
    section = _section(page.dom, "diagram")
    assert "<svg" in section and "<img" not in section
    for label in ("us-east-1 · primary", "us-west-2 · secondary", "eu-west-1 · secondary"):
        assert label in section
    assert section.count("replication · RTC 15 min") == 2
    # the release path: each region's instances read the pointer and artifacts, write their own heartbeat
    assert section.count("agent: releases/current.json, artifacts/ (read)") == 3
    assert section.count("fleet/heartbeats/&lt;userid&gt;.json (write)") == 3


def test_iam_section_lists_the_migration_role_with_its_actions(page: chromium.Page) -> None:
    iam = _section(page.dom, "iam")
    assert "tapstack-migration-use1-dev" in iam
    assert "<code>ssm:GetParameter</code>" in iam
    assert "<code>Service: lambda.amazonaws.com</code>" in iam


def test_local_sections_say_they_need_local(page: chromium.Page) -> None:
    for name in ("outputs", "checks", "fleet"):
        assert "Not available: run `tapstack report --local`" in _section(page.dom, name)


def test_screenshot_is_a_full_size_picture_not_a_blank_page(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    assert chromium.screenshot(report_file, shot, 1400, 2200) == (1400, 2200)
    # A blank or unstyled page compresses to a few kilobytes; the rendered report is far larger.
    assert shot.stat().st_size > 80_000


def test_the_console_check_catches_errors_and_blocked_fetches(tmp_path: Path) -> None:
    """Guard the guard: a page with an error and an external image must not pass as clean."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="img-src data:"></head>'
        '<body><img src="https://example.com/x.png"><script>undefinedFunction()</script></body></html>'
    )
    console = "\n".join(chromium.load(bad).console)
    assert "Uncaught ReferenceError" in console
    assert "https://example.com/x.png" in console


@pytest.fixture(scope="module")
def changes_page(platform: Graph, tmp_path_factory: pytest.TempPathFactory) -> chromium.Page:
    """The report of the platform against a deployment whose deployment bucket had Object Lock and whose
    eu-west-1 launch template had other user data: one destructive replacement, one instance refresh (the
    eu-west-1 group on Auto Scaling's default 90% healthy, where a group of one stops serving)."""
    work = tmp_path_factory.mktemp("changes")
    deployed, current = (Graph.from_dict(json.loads(json.dumps(platform.to_dict()))) for _ in range(2))
    for graph in (deployed, current):
        for resource in graph.resources:
            if resource.type == resource_types.ASG and resource.region == "eu-west-1":
                resource.inputs["instanceRefresh"]["preferences"] = {"minHealthyPercentage": 90.0}
    for resource in deployed.resources:
        if resource.type == resource_types.BUCKET and resource.name == "use1-deploy":
            resource.inputs["objectLockEnabled"] = True
        if resource.type == resource_types.LAUNCH_TEMPLATE and resource.region == "eu-west-1":
            resource.inputs["userData"] = "I2Nsb3VkLWNvbmZpZwo="
    old, new, out = work / "old.json", work / "new.json", work / "report.html"
    deployed.write(old)
    current.write(new)
    assert main(["report", "--graph", str(new), "--against", str(old), "--out", str(out)]) == 0
    return chromium.load(out)


def test_the_changes_section_renders_the_destructive_replacement_and_the_refresh_per_region(
    changes_page: chromium.Page,
) -> None:
    assert changes_page.console == []
    changes = _section(changes_page.dom, "changes")
    assert '<span class="badge fail">1 destructive</span>' in changes
    assert re.findall(r"<h3>([^<]*)</h3>", changes) == ["eu-west-1", "us-east-1", "us-west-2"]
    eu, us = changes.split("<h3>us-east-1</h3>")[0], changes.split("<h3>us-east-1</h3>")[1].split("<h3>")[0]
    assert "so eu-west-1 stops serving until a new instance passes its health check" in eu
    assert re.search(
        r'<span class="badge replace">replace</span> <span class="badge fail">destructive</span></td>'
        r"<td><code>s3:Bucket</code> use1-deploy</td>",
        us,
    )
    assert "deployment bucket: every release's artifacts and migration records" in us


def test_without_a_deployed_graph_the_changes_section_says_how_to_get_one(page: chromium.Page) -> None:
    assert "tapstack report --against OLD" in _section(page.dom, "changes")


def _diagram_svg(report: Path) -> str:
    page = report.read_text()
    return page[page.index("<svg") : page.index("</svg>") + len("</svg>")]


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed: the report has no diagram")
def test_no_edge_label_overprints_another_label_a_cluster_title_or_a_box(report_file: Path, tmp_path: Path) -> None:
    """Where Chromium really draws each text, at the report's fit-to-width (overlaps do not depend on the scale)."""
    boxes = chromium.rendered_boxes(_diagram_svg(report_file), tmp_path)
    assert sum(1 for b in boxes if b.kind == "edge") > 50 and sum(1 for b in boxes if b.kind == "cluster") > 20
    assert chromium.overprints(boxes) == []


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")
def test_the_overprint_check_catches_graphviz_own_placement(platform: Graph, tmp_path: Path) -> None:
    """Guard the guard: the layout as dot leaves it prints labels over each other and over a cluster title."""
    from tapstack.diagram.dot import to_dot

    raw = to_dot(diagram.build(platform)).pipe(format="svg").decode()
    found = chromium.overprints(chromium.rendered_boxes(raw[raw.index("<svg") :], tmp_path))
    assert len([pair for pair in found if not pair[1].startswith("cluster ")]) >= 2, "labels over labels"
    assert any(other.startswith("cluster ") for _, other in found)
