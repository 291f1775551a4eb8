"""docs/guard-rules.md states the rules the code runs."""

from __future__ import annotations

from tapstack.guard.rules import RULES, rule_range
from tests.helpers import ROOT

from .fixtures.seeds import FIXTURES, UPDATE_FIXTURES
from .rule_docs import END, RANGE, REFERENCE, START, candidates, stale


def test_rule_table_and_every_rule_range_written_in_the_repository_are_the_catalogues() -> None:
    assert stale() == [], "the rule docs are stale: run `python -m tests.guard.rule_docs --update`"


def test_the_rule_range_is_written_where_readers_meet_the_rules() -> None:
    """The check above cannot pass by a range being deleted or mis-spelt out of the regex's reach."""
    written = {p.relative_to(ROOT).as_posix() for p in candidates() if RANGE.search(p.read_text())}
    assert written >= {
        "README.md",
        "docs/runbook.md",
        "docs/guard-rules.md",
        "src/tapstack/guard/rules/__init__.py",
        "policy-pack/PulumiPolicy.yaml",
    }
    assert rule_range() == f"TAP001-{RULES[-1].id}" and START in REFERENCE.read_text() and END in REFERENCE.read_text()


def test_every_rule_has_a_fixture_that_reproduces_its_seed_problem() -> None:
    covered = {rule for _, expected in FIXTURES.values() for rule in expected}
    covered |= {rule for _, _, expected in UPDATE_FIXTURES.values() for rule in expected}
    assert covered == {r.id for r in RULES}
