"""The release protocol is written once: the layout, the documents and the states live in ``tapstack.contract``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tapstack import contract
from tapstack.contract import Health, Heartbeat, Reply, heartbeat_instance, heartbeat_key
from tapstack.lib import iam

SRC = Path(contract.__file__).resolve().parent
LAYOUT = {
    contract.POINTER_KEY,
    contract.HEARTBEAT_PREFIX,
    contract.ARTIFACTS_PREFIX,
    contract.MIGRATIONS_PREFIX,
    contract.ROLLBACKS_PREFIX,
    contract.LOCKS_PREFIX,
    contract.LOCK_KEY,
    contract.LEASE_KEY,
    contract.RELEASES_PREFIX,
}


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


@pytest.mark.parametrize(
    "module", sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if p.name != "contract.py")
)
def test_no_module_but_the_contract_spells_a_key_or_prefix_of_the_bucket_layout(module: str) -> None:
    assert not (_string_constants(SRC / module) & LAYOUT)


def test_the_contract_imports_only_the_standard_library_and_parses_as_python_3_9() -> None:
    source = Path(contract.__file__).read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    roots = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert roots <= set(sys.stdlib_module_names)


def test_the_iam_grant_for_an_instance_is_the_heartbeat_key_the_agent_writes() -> None:
    assert iam.OWN_HEARTBEAT_KEY == heartbeat_key("${aws:userid}") == "fleet/heartbeats/${aws:userid}.json"
    assert heartbeat_instance(heartbeat_key("AROAEXAMPLE:i-0abc")) == "i-0abc"


def test_a_heartbeat_reads_back_as_written_and_a_foreign_document_is_none() -> None:
    beat = Heartbeat("i-1", "r2", Health.HEALTHY, "", "r1", "2026-01-02T03:04:05Z")
    assert Heartbeat.from_json(beat.to_json()) == beat
    assert beat.seen_at is not None and beat.seen_at.tzinfo is not None
    assert Heartbeat.from_json({"release": "r2"}) is None


def test_a_reply_reads_back_from_the_handler_response_shape_and_junk_is_a_502() -> None:
    response = {"statusCode": 409, "body": {"outcome": "conflict", "message": "m", "result": {}, "field": "x"}}
    assert Reply.of(response) == Reply(409, "conflict", "m", {}, "x")
    assert not Reply.of(response).ok
    assert Reply.of("nonsense").status == 502
