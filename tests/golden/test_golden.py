"""Every example synthesizes to exactly its committed golden graph (regenerate: ``python -m tests.golden --update``)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from . import ROOT, golden_path, snapshot, stack_files, synthesize


def _first_difference(expected: str, actual: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "synthesized", lineterm="", n=2)
    return "\n".join(list(lines)[:40])


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.parent.name)
def test_example_synthesizes_to_its_golden_graph_byte_for_byte(stack_file: Path) -> None:
    path = golden_path(stack_file)
    assert path.is_file(), f"no golden file for {stack_file.relative_to(ROOT)}: run `python -m tests.golden --update`"
    expected = path.read_text()
    actual = snapshot(synthesize(stack_file))
    if actual != expected:
        urns_before = set(json.loads(expected)["urns"])
        urns_after = set(json.loads(actual)["urns"])
        pytest.fail(
            f"{stack_file.relative_to(ROOT)} no longer synthesizes to {path.relative_to(ROOT)}:\n"
            f"URNs gone: {sorted(urns_before - urns_after)[:10]}\nURNs new: {sorted(urns_after - urns_before)[:10]}\n"
            f"{_first_difference(expected, actual)}\n"
            "If the change is intended, run `python -m tests.golden --update` and commit the new files."
        )


def test_every_example_stack_file_has_a_golden_file_and_no_golden_file_is_orphaned() -> None:
    expected = {golden_path(p).name for p in stack_files()}
    present = {p.name for p in Path(__file__).parent.glob("*.json")}
    assert present == expected
