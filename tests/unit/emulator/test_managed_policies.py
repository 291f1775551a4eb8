"""moto's AWS managed policies from the emulator's kept table: what moto itself builds, anew for each backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.config import default_user_config
from moto.iam import models
from moto.iam.aws_managed_policies import aws_managed_policies_data

from tapstack.emulator import managed_policies

ACCOUNT = "123456789012"


@pytest.fixture
def loading_managed_policies() -> Iterator[None]:
    before = default_user_config["iam"].get("load_aws_managed_policies", False)
    default_user_config["iam"]["load_aws_managed_policies"] = True
    yield
    default_user_config["iam"]["load_aws_managed_policies"] = before


class _Backend:
    account_id = ACCOUNT
    region_name = "aws"


def _fields(policies: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (p.arn, p.name, p.path, p.default_version_id, p.create_date, p.update_date, p.versions[0].document)
        for p in policies
    )


def test_the_kept_table_builds_every_policy_moto_builds_with_the_same_fields(loading_managed_policies: None) -> None:
    by_moto = [  # the body of moto's IAMBackend._init_aws_policies
        models.AWSManagedPolicy.from_data(name, ACCOUNT, "aws", data)
        for name, data in json.loads(aws_managed_policies_data).items()
    ]
    kept = managed_policies._init_aws_policies(_Backend())
    assert len(kept) == len(by_moto) > 1000
    assert _fields(kept) == _fields(by_moto)
    assert any(p.name == "AmazonSSMManagedInstanceCore" for p in kept)


def test_each_backend_gets_policies_of_its_own(loading_managed_policies: None) -> None:
    first, second = (managed_policies._init_aws_policies(_Backend()) for _ in range(2))
    first[0].attachment_count += 1
    assert second[0].attachment_count == 0 and first[0] is not second[0]


def test_the_table_is_parsed_once_per_process(loading_managed_policies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    managed_policies.table()
    parsed: list[str] = []
    monkeypatch.setattr(managed_policies.json, "loads", lambda text: parsed.append(text))
    managed_policies._init_aws_policies(_Backend())
    assert parsed == []


def test_no_managed_policies_unless_moto_is_told_to_load_them() -> None:
    before = default_user_config["iam"].get("load_aws_managed_policies", False)
    default_user_config["iam"]["load_aws_managed_policies"] = False
    try:
        assert managed_policies._init_aws_policies(_Backend()) == []
    finally:
        default_user_config["iam"]["load_aws_managed_policies"] = before


def test_an_emulator_backend_built_after_install_holds_the_ssm_core_policy(loading_managed_policies: None) -> None:
    managed_policies.install()
    backend = models.IAMBackend("aws", ACCOUNT)
    arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert backend.get_policy(arn).name == "AmazonSSMManagedInstanceCore"
