"""Every example synthesizes to exactly its committed golden graph (regenerate: ``python -m tests.golden --update``),
keeps the URNs of a stack deployed before (as its own or as aliases), and registers only AWS types in the registry."""

from __future__ import annotations

import difflib
import importlib.metadata
import json
from pathlib import Path

import pytest

from tapstack.graph import Graph
from tapstack.resource_types import TYPES

from . import ROOT, deployed_urns_path, golden_path, snapshot, stack_files, synthesize

_graphs: dict[Path, Graph] = {}


def _synthesized(stack_file: Path) -> Graph:
    """One synth per example per test run, shared by the tests below."""
    if stack_file not in _graphs:
        _graphs[stack_file] = synthesize(stack_file)
    return _graphs[stack_file]


def _first_difference(expected: str, actual: str) -> str:
    """The first lines of a unified diff, each cut short: user data and policies are single long lines."""
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "synthesized", lineterm="", n=2)
    return "\n".join(line[:160] + (" ..." if len(line) > 160 else "") for line in list(lines)[:40])


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.parent.name)
def test_example_synthesizes_to_its_golden_graph_byte_for_byte(stack_file: Path) -> None:
    path = golden_path(stack_file)
    assert path.is_file(), f"no golden file for {stack_file.relative_to(ROOT)}: run `python -m tests.golden --update`"
    expected = path.read_text()
    actual = snapshot(_synthesized(stack_file))
    if actual != expected:
        urns_before = set(json.loads(expected)["urns"])
        urns_after = set(json.loads(actual)["urns"])
        pytest.fail(
            f"{stack_file.relative_to(ROOT)} no longer synthesizes to {path.relative_to(ROOT)}:\n"
            f"URNs gone: {sorted(urns_before - urns_after)[:10]}\nURNs new: {sorted(urns_after - urns_before)[:10]}\n"
            f"{_first_difference(expected, actual)}\n"
            "The Lambda archive vendors boto3 and botocore, so its digest (build/lambda/migration-<digest>) moves with "
            f"them (installed: boto3 {importlib.metadata.version('boto3')}, botocore "
            f"{importlib.metadata.version('botocore')}): after a re-lock that moves them that difference is expected.\n"
            "If the change is intended, run `python -m tests.golden --update` and commit the new files."
        )


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.parent.name)
def test_every_urn_of_a_deployed_stack_is_a_urn_or_an_alias_of_the_synthesized_graph(stack_file: Path) -> None:
    path = deployed_urns_path(stack_file)
    assert path.is_file(), f"no deployed URN set for {stack_file.relative_to(ROOT)}: {path.relative_to(ROOT)}"
    deployed = json.loads(path.read_text())
    graph = _synthesized(stack_file)
    answered = {r.urn for r in graph} | {alias for r in graph for alias in r.aliases}
    lost = sorted(set(deployed) - answered)
    assert lost == [], (
        f"{len(lost)} deployed resources of {stack_file.relative_to(ROOT)} would be replaced (no resource has their "
        f"URN or an alias to it; give the moved resource `aliases=[pulumi.Alias(...)]`): {lost[:5]}"
    )


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.parent.name)
def test_every_aws_type_an_example_registers_is_in_the_type_registry(stack_file: Path) -> None:
    missing = sorted({r.type for r in _synthesized(stack_file).aws_resources()} - set(TYPES))
    assert missing == [], f"add these types to src/tapstack/resource_types.py (see docs/contributing.md): {missing}"


def test_every_example_stack_file_has_a_golden_file_and_no_golden_file_is_orphaned() -> None:
    expected = {golden_path(p).name for p in stack_files()}
    present = {p.name for p in Path(__file__).parent.glob("*.json")}
    deployed = {p.name for p in Path(__file__).parent.glob("urns/*.json")}
    assert (present, deployed) == (expected, expected)
