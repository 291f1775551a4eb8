"""The docs say what the code does: the configuration reference, the committed diagram, the runbook's alarms."""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pytest

from tapstack import cli, config, diagram, resource_types
from tapstack.components.monitoring import ALARMS
from tapstack.graph import Graph
from tapstack.handler.events import ACTIONS
from tapstack.lib import names
from tapstack.lib.naming import NameKind
from tests.helpers import ROOT

DOCS = ROOT / "docs"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def between_markers(text: str) -> str:
    assert START in text and END in text, "the generated block needs its start and end markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip() + "\n"


def test_configuration_doc_is_the_generated_reference() -> None:
    doc = (DOCS / "configuration.md").read_text()
    assert between_markers(doc) == config.reference_markdown()
    assert doc == config.with_generated_blocks(doc), (
        "docs/configuration.md is stale: run `python -m tapstack.config README.md docs/configuration.md`"
    )


def test_every_generated_block_of_the_configuration_doc_is_present() -> None:
    doc = (DOCS / "configuration.md").read_text()
    for name, render in config.GENERATED.items():
        assert f"<!-- {name}:start -->\n{render()}<!-- {name}:end -->" in doc, name


def test_the_program_reads_exactly_the_documented_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load`` asks the Pulumi runtime for every setting it was given and for nothing else."""
    given = {f"{config.NAMESPACE}:{s.key}": "x" for s in config.SETTINGS}
    asked: list[str] = []

    class RecordingConfig:
        def __init__(self, namespace: str) -> None:
            assert namespace == config.NAMESPACE

        def get(self, key: str) -> None:
            asked.append(key)

        def get_object(self, key: str) -> None:
            asked.append(key)

    monkeypatch.setattr(config, "_runtime_keys", lambda: sorted(given))
    monkeypatch.setattr(config.pulumi, "Config", RecordingConfig)
    with pytest.raises(config.ConfigError, match="tapstack:migrationToken: got None"):
        config.load()
    assert sorted(asked) == sorted(config.KNOWN_KEYS)
    assert len(config.reference_markdown().splitlines()) == 2 + len(config.SETTINGS)


def test_every_documented_key_appears_in_the_prose_of_the_configuration_doc() -> None:
    prose = (DOCS / "configuration.md").read_text().split(START)[0] + (DOCS / "configuration.md").read_text().split(
        END
    )[1]
    missing = [key for key in sorted(config.KNOWN_KEYS) if key not in prose]
    assert not missing, f"explain these keys outside the table too: {missing}"


def test_architecture_doc_embeds_the_committed_diagram() -> None:
    doc = (DOCS / "architecture.md").read_text()
    assert "](img/platform.svg)" in doc
    assert "tapstack diagram --config examples/platform/Pulumi.dev.yaml --out docs/img/platform.svg" in doc


def test_committed_diagram_shows_the_current_three_region_example(platform: Graph) -> None:
    """Regenerate with the command in docs/architecture.md when this fails: the picture no longer matches."""
    svg = html.unescape((DOCS / "img" / "platform.svg").read_text())
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("us-east-1 · primary", "us-west-2 · secondary", "eu-west-1 · secondary"):
        assert label in svg
    built = diagram.build(platform)
    titles = Counter(n.title for n in built.nodes.values())
    drawn = Counter(t for t in re.findall(r'font-weight="bold"[^>]*>([^<]+)</text>', svg))
    assert drawn == titles
    assert svg.count("replication · RTC 15 min") == len(built.edges_of("replication")) == 2


def test_report_screenshot_is_committed() -> None:
    data = (DOCS / "img" / "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 80_000


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed: the report has no diagram")
def test_report_screenshot_shows_the_current_report(platform: Graph, tmp_path: Path) -> None:
    """The screenshot carries the digest of the summary and diagram it shows; regenerate it when this fails."""
    from tapstack.cli import main
    from tests.browser import chromium

    graph, report = tmp_path / "graph.json", tmp_path / "report.html"
    platform.write(graph)
    assert main(["report", "--graph", str(graph), "--out", str(report)]) == 0
    assert chromium.stamped((DOCS / "img" / "report.png").read_bytes()) == chromium.shown_digest(report.read_text()), (
        "docs/img/report.png is stale: run `python -m tests.browser.chromium --docs`"
    )


def test_runbook_explains_every_alarm_the_program_creates(platform: Graph) -> None:
    runbook = (DOCS / "runbook.md").read_text()
    # the replication-failed alarm names its destination too: -euw1-use1-dev
    suffix = re.compile(r"(?:-(?:use1|usw2|euw1))+-dev$")
    kinds = {
        suffix.sub("", str(a.inputs["name"])).removeprefix("tapstack-") for a in platform.of_type(resource_types.ALARM)
    }
    catalogued = {n.what.removesuffix("-{code}") for n in names.CATALOGUE if n.kind is NameKind.ALARM}
    assert kinds == catalogued == set(ALARMS)
    for kind in sorted(ALARMS):
        assert f"### `{kind}`" in runbook, f"the runbook has no section for alarm {kind}"


def test_runbook_covers_deploy_migration_and_rollback() -> None:
    runbook = (DOCS / "runbook.md").read_text()
    for needed in (
        "pulumi stack init",
        "pulumi config set --secret tapstack:migrationToken",
        "pulumi preview --policy-pack policy-pack",
        "pulumi up",
        "tapstack invoke",
        "aws lambda invoke",
    ):
        assert needed in runbook, needed
    for action in ACTIONS:
        assert f'"action": "{action}"' in runbook, action


@pytest.mark.parametrize("name", ["architecture.md", "configuration.md", "runbook.md"])
def test_relative_links_in_docs_resolve(name: str) -> None:
    doc = DOCS / name
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target:
            continue
        assert (doc.parent / target).resolve().exists(), f"{name} links to missing {target}"


def test_docs_do_not_reference_removed_paths() -> None:
    for doc in DOCS.glob("*.md"):
        for path in re.findall(r"`((?:src|examples|tests|policy-pack)/[\w./-]+)`", doc.read_text()):
            assert (ROOT / path.rstrip("/")).exists(), f"{doc.name} names {path}, which does not exist"


def test_every_picture_the_docs_name_is_committed() -> None:
    for doc in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for path in re.findall(r"\b(docs/img/[\w.-]+|img/[\w.-]+)", doc.read_text()):
            target = ROOT / path if path.startswith("docs/") else DOCS / path
            assert target.is_file(), f"{doc.name} names {path}, which does not exist"


def test_architecture_doc_gives_the_resource_and_box_counts_the_program_makes(platform: Graph) -> None:
    """When this fails, write the figures it names into docs/architecture.md ("How to read the diagram")."""
    doc = " ".join((DOCS / "architecture.md").read_text().split())
    per_region = Counter(str(r.region) for r in platform.aws_resources())
    low, high = min(per_region.values()), max(per_region.values())
    built = diagram.build(platform)
    boxes = {len(built.nodes_in(region)) for region in built.regions}
    resources = f"{low} to {high}" if low != high else str(low)
    drawn = f"{min(boxes)} to {max(boxes)}" if len(boxes) > 1 else str(boxes.pop())
    assert f"a region holds {resources} AWS resources" in doc
    assert f"so a region is {drawn} boxes" in doc


def test_readme_shows_every_command() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert [name for name in cli.COMMANDS if f"tapstack {name} " not in readme] == []
