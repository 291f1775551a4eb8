"""docs/guard-rules.md states the rules the code runs."""

from __future__ import annotations

from tapstack.guard.rules import RULES, reference_markdown
from tests.helpers import ROOT

from .fixtures.seeds import FIXTURES, UPDATE_FIXTURES

START, END = "<!-- guard-rules:start -->", "<!-- guard-rules:end -->"


def test_rule_table_is_the_generated_reference() -> None:
    doc = (ROOT / "docs" / "guard-rules.md").read_text()
    assert START in doc and END in doc
    assert doc.split(START, 1)[1].split(END, 1)[0].strip() + "\n" == reference_markdown(), (
        "docs/guard-rules.md is stale: paste tapstack.guard.rules.reference_markdown() between the markers"
    )


def test_every_rule_has_a_fixture_that_reproduces_its_seed_problem() -> None:
    covered = {rule for _, expected in FIXTURES.values() for rule in expected}
    covered |= {rule for _, _, expected in UPDATE_FIXTURES.values() for rule in expected}
    assert covered == {r.id for r in RULES}
