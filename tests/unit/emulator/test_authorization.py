"""The emulator's policy evaluator for KMS key policies and the instance-refresh bounds: pure logic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapstack.emulator.authorization import Caller, Decision, identity_decision, key_allows, key_policy_problem
from tapstack.emulator.instance_refresh import Preferences

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/user"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
VIA_S3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
IAM_DECRYPT = {
    "Effect": "Allow",
    "Action": ["kms:Decrypt"],
    "Resource": [KEY],
    "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}},
}


def test_a_root_statement_only_delegates_so_iam_decides() -> None:
    with_iam = Caller(ROLE, ACCOUNT, [_policy(IAM_DECRYPT)])
    without = Caller(ROLE, ACCOUNT, [])
    assert key_allows(_policy(ROOT), with_iam, "kms:Decrypt", KEY, VIA_S3)
    assert not key_allows(_policy(ROOT), without, "kms:Decrypt", KEY, VIA_S3)
    assert not key_allows(
        _policy(ROOT), with_iam, "kms:Decrypt", KEY, {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}
    )


def test_a_statement_naming_the_role_grants_on_its_own_and_a_deny_anywhere_wins() -> None:
    named = {"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": ["kms:Decrypt"], "Resource": "*"}
    caller = Caller(ROLE, ACCOUNT, [])
    assert key_allows(_policy(ROOT, named), caller, "kms:Decrypt", KEY, VIA_S3)
    assert not key_allows(_policy(ROOT, named), caller, "kms:Encrypt", KEY, VIA_S3)
    deny_iam = {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}
    assert not key_allows(_policy(ROOT, named), Caller(ROLE, ACCOUNT, [_policy(deny_iam)]), "kms:Decrypt", KEY, {})
    deny_key = {"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}
    assert not key_allows(_policy(ROOT, named, deny_key), caller, "kms:Decrypt", KEY, {})


def test_an_unknown_condition_operator_makes_a_statement_not_apply() -> None:
    odd = {**IAM_DECRYPT, "Condition": {"NumericLessThan": {"kms:GrantCount": "3"}}}
    assert identity_decision([_policy(odd)], "kms:Decrypt", KEY, VIA_S3) is Decision.NONE
    assert identity_decision([_policy(IAM_DECRYPT)], "kms:Decrypt", KEY, VIA_S3) is Decision.ALLOW
    assert identity_decision([_policy(IAM_DECRYPT)], "kms:Decrypt", KEY, {}) is Decision.NONE, "a missing key"


def test_a_key_policy_without_an_unconditional_root_put_key_policy_fails_the_lockout_check() -> None:
    named = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:Decrypt"}
    problem = key_policy_problem(_policy(named), ACCOUNT, bypass_lockout_check=False)
    assert problem is not None and "will not allow you to update the key policy" in problem
    assert key_policy_problem(_policy(ROOT), ACCOUNT, bypass_lockout_check=False) is None
    assert key_policy_problem(_policy(named), ACCOUNT, bypass_lockout_check=True) is None


@pytest.mark.parametrize(
    ("preferences", "desired", "bounds"),
    [
        (Preferences(90, 100), 1, (1, 1)),  # no room above: the only instance is replaced in place
        (Preferences(100, 200), 1, (1, 2)),  # launch first, never below one
        (Preferences(90, 100), 10, (9, 10)),
        (Preferences(100, 110), 10, (10, 11)),
    ],
)
def test_the_refresh_bounds_round_min_up_and_max_down(
    preferences: Preferences, desired: int, bounds: tuple[int, int]
) -> None:
    assert preferences.bounds(desired) == bounds
