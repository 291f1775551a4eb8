"""The docs say what the code does: the configuration reference, the committed diagram, the runbook's alarms."""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

import pytest

from tapstack import config, diagram
from tapstack.graph import Graph
from tapstack.handler.events import ACTIONS
from tests.conftest import ROOT

DOCS = ROOT / "docs"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def between_markers(text: str) -> str:
    assert START in text and END in text, "the generated block needs its start and end markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip() + "\n"


def test_configuration_doc_is_the_generated_reference() -> None:
    doc = (DOCS / "configuration.md").read_text()
    assert between_markers(doc) == config.reference_markdown(), (
        "docs/configuration.md is stale: paste tapstack.config.reference_markdown() between the markers"
    )


def test_every_documented_key_is_read_and_every_read_key_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def get(key: str) -> Any:
        asked.append(key)
        return None

    config.build(get, env={})

    class RecordingConfig:
        def __init__(self, namespace: str) -> None:
            assert namespace == config.NAMESPACE

        def get_secret(self, key: str) -> None:
            asked.append(key)

    monkeypatch.setattr(config.pulumi, "Config", RecordingConfig)
    config.migration_token()
    assert set(asked) == config.KNOWN_KEYS == {row[0] for row in config.CONFIG_REFERENCE}


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


def test_runbook_explains_every_alarm_the_program_creates(platform: Graph) -> None:
    runbook = (DOCS / "runbook.md").read_text()
    suffix = re.compile(r"-(?:use1|usw2|euw1)-dev$")
    kinds = {suffix.sub("", str(a.inputs["name"])).removeprefix("tapstack-") for a in platform.of_type(diagram.ALARM)}
    assert kinds == {"cpu-high", "cpu-low", "in-service-low", "lambda-errors", "lambda-throttles", "failed-replies"}
    for kind in sorted(kinds):
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
