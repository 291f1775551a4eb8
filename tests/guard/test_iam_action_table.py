"""TAP002 reads action names from a table generated from the installed parliament, so `check` never imports it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import parliament
import pytest

from tapstack.graph import Graph, policy_statements
from tapstack.guard.rules.iam import (
    ACTIONS_TABLE,
    REGENERATE_ACTIONS,
    UnknownAction,
    UnknownPrefix,
    action_error,
    expand_action,
    expansion_size,
)
from tapstack.guard.rules.iam_actions_table import read_parliament, render_table
from tests.helpers import ROOT

PROBES = [
    "s3:GetObject",
    "S3:getobject",  # IAM compares action names case-insensitively
    "s3:GetObjekt",
    "s3:Get*",
    "s3:GetObject?",
    "s3:*",
    "*:GetObject",
    "elasticloadbalancing:*",  # two services share the prefix
    "elasticloadbalancing:DescribeLoadBalancers",
    "nosuchservice:Get",
    "nosuchservice:*",
    ":GetObject",
    "s3",
    "s3:Get:Object",
    "ec2:Describe[IV]*",
    "iam:PassRoleX",
]


def _parliament_answer(action: str) -> tuple[str, int]:
    try:
        matched = parliament.expand_action(action)
    except parliament.UnknownPrefixException:
        return "prefix", 0
    except parliament.UnknownActionException:
        return "action", 0
    except ValueError:
        return "malformed", 0
    return "ok", len({f"{a['service']}:{a['action']}".lower() for a in matched})


def _table_answer(action: str) -> tuple[str, int]:
    try:
        return "ok", len(expand_action(action))
    except UnknownPrefix:
        return "prefix", 0
    except UnknownAction:
        return "action", 0
    except ValueError:
        return "malformed", 0


def test_the_committed_table_is_what_the_installed_parliament_says() -> None:
    committed = json.loads(gzip.decompress(ACTIONS_TABLE.read_bytes()))
    assert committed == read_parliament(), f"parliament changed: run `{REGENERATE_ACTIONS}` and commit the table"


def test_rendering_the_table_twice_gives_the_same_bytes() -> None:
    table = read_parliament()
    assert render_table(table) == render_table(table)


@pytest.mark.parametrize("action", PROBES)
def test_the_table_answers_as_parliament_does(action: str) -> None:
    """Same verdict (known, unknown prefix, unknown action, malformed) and the same number of distinct actions."""
    assert _table_answer(action) == _parliament_answer(action)


def test_every_action_of_every_example_is_judged_as_parliament_judges_it(platform: Graph) -> None:
    actions = {
        str(a)
        for r in platform.aws_resources()
        for key in ("policy", "assumeRolePolicy")
        for st in policy_statements(r.inputs.get(key))
        for a in ([st["Action"]] if isinstance(st.get("Action"), str) else st.get("Action") or [])
    }
    assert len(actions) > 20  # the policies were read: every role, key, bucket and topic policy names its actions
    assert {a: _table_answer(a) for a in sorted(actions)} == {a: _parliament_answer(a) for a in sorted(actions)}


def test_a_typo_is_reported_and_a_wildcard_counted() -> None:
    assert action_error("s3:GetObjekt") == "'s3:GetObjekt': no such action in the AWS service authorization reference"
    assert action_error("s4:GetObject") == "'s4:GetObject': no AWS service has the prefix 's4'"
    assert action_error("s3:GetObject") is None
    assert expansion_size("s3:GetObject*") == _parliament_answer("s3:GetObject*")[1] > 5


def test_checking_a_graph_does_not_import_parliament() -> None:
    probe = (
        "import json, sys\n"
        "from tapstack.graph import Graph, Resource\n"
        "from tapstack.guard.engine import evaluate\n"
        "st = {'Effect': 'Allow', 'Action': 's3:GetObjekt', 'Resource': 'arn:aws:s3:::b'}\n"
        "doc = json.dumps({'Statement': [st]})\n"
        "graph = Graph('dev', [Resource('urn:p', 'aws:iam/rolePolicy:RolePolicy', 'p', inputs={'policy': doc})])\n"
        "report = evaluate(graph)\n"
        "print(json.dumps({'tap002': [v.message for v in report.violations if v.rule == 'TAP002'],\n"
        "  'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('parliament', 'pkg_resources')\n"
        "                   or m.endswith('iam_actions_table'))}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert any("'s3:GetObjekt': no such action" in m for m in result["tap002"])
