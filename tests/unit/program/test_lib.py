"""Pure helpers: naming, CIDR planning, NACL rules, IAM statement builders."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tapstack.lib import build_dirs, cidr, iam
from tapstack.lib.nacl import Tier, admits_port, nacl_rules
from tapstack.lib.naming import NameKind, PhysicalNameError, log_group_name, normalize, parameter_name, physical_name
from tapstack.lib.regions import region_code
from tapstack.lib.tags import default_tags


def test_names_are_normalized_and_carry_region_and_suffix() -> None:
    assert physical_name(NameKind.IAM_ROLE, "TapStack", "Data_Bucket", "dev", "eu-west-1") == (
        "tapstack-data-bucket-euw1-dev"
    )
    assert normalize("  --My__Name-- ") == "my-name"


def test_bucket_names_are_unique_per_account_without_randomness() -> None:
    a = physical_name(NameKind.BUCKET, "tapstack", "deploy", "dev", "us-east-1", "111111111111")
    b = physical_name(NameKind.BUCKET, "tapstack", "deploy", "dev", "us-east-1", "222222222222")
    assert a != b
    assert a == physical_name(NameKind.BUCKET, "tapstack", "deploy", "dev", "us-east-1", "111111111111")


def test_name_over_the_service_limit_is_refused() -> None:
    with pytest.raises(PhysicalNameError, match="AWS allows at most 64 for iam role names"):
        physical_name(NameKind.IAM_ROLE, "p" * 30, "replication", "s" * 20, "us-east-1")


def test_path_like_names() -> None:
    assert log_group_name("tapstack", "flowlogs", "dev", "us-west-2") == "/tapstack/flowlogs/usw2/dev"
    assert parameter_name("tapstack", "dev", "migration/config") == "/tapstack/dev/migration/config"


def test_unknown_region_code_names_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="unknown region 'moon-1'; allowed: us-east-1"):
        region_code("moon-1")


def test_ownership_tags_cannot_be_overridden_by_user_tags() -> None:
    tags = default_tags("tapstack", "dev", "us-east-1", {"ManagedBy": "me", "Owner": "team"})
    assert tags["ManagedBy"] == "pulumi"
    assert tags["Owner"] == "team"


@pytest.mark.parametrize("az_count", [2, 3, 6])
def test_subnet_plan_is_disjoint_and_inside_the_vpc(az_count: int) -> None:
    plan = cidr.plan_subnets("10.16.0.0/16", az_count)
    nets = [ipaddress.ip_network(n) for n in plan.public + plan.private]
    assert len(nets) == 2 * az_count
    vpc = ipaddress.ip_network("10.16.0.0/16")
    assert all(n.subnet_of(vpc) for n in nets)
    assert cidr.find_overlap({str(i): str(n) for i, n in enumerate(nets)}) is None


def test_growing_az_count_keeps_existing_subnet_cidrs() -> None:
    small, big = cidr.plan_subnets("10.0.0.0/16", 2), cidr.plan_subnets("10.0.0.0/16", 3)
    assert big.public[:2] == small.public and big.private[:2] == small.private


def test_tiny_vpc_cannot_hold_the_requested_azs() -> None:
    with pytest.raises(ValueError, match="can hold at most"):
        cidr.plan_subnets("10.0.0.0/24", 9)


@pytest.mark.parametrize("tier", list(Tier))
def test_nacls_never_admit_ssh_from_anywhere(tier: Tier) -> None:
    """RDP per tier: tests/unit/program/test_network.py (the public tier must admit NAT replies on 3389)."""
    rules = nacl_rules(tier, "10.0.0.0/16")
    assert not admits_port(rules, 22)
    assert not admits_port(rules, 22, "10.0.3.4")
    assert admits_port(rules, 50000), "replies to outbound HTTPS must still get in"
    assert len({(r.number, r.egress) for r in rules}) == len(rules), "rule numbers must be unique per direction"


def test_private_tier_only_talks_https_out() -> None:
    egress = [r for r in nacl_rules(Tier.PRIVATE, "10.0.0.0/16") if r.egress and r.cidr == "0.0.0.0/0"]
    assert [(r.ports, r.protocol) for r in egress] == [((443, 443), "tcp")]


def test_statement_refuses_wildcard_actions() -> None:
    with pytest.raises(ValueError, match="wildcard action 's3:\\*'"):
        iam.statement("Bad", ["s3:*"], ["arn:aws:s3:::b"])
    with pytest.raises(ValueError, match="wildcard action '\\*'"):
        iam.statement("Bad", ["*"], ["arn:aws:s3:::b"])


def test_statement_refuses_star_resource_for_scopable_actions() -> None:
    with pytest.raises(ValueError, match=r"actions \['s3:GetObject'\] must name their resources"):
        iam.statement("Bad", ["s3:GetObject", "xray:PutTraceSegments"], "*")


def test_star_resource_only_for_allow_listed_actions_each_with_a_reason() -> None:
    st = iam.statement("Trace", ["xray:PutTraceSegments"], "*")
    assert st["Resource"] == ["*"]
    assert all(len(reason) > 20 for reason in iam.UNSCOPED_ACTIONS.values())


def test_deny_statements_may_use_wildcards() -> None:
    st = iam.tls_only_statement("arn:aws:s3:::b")
    assert st["Effect"] == "Deny"
    assert st["Action"] == ["s3:*"]
    assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_checkout_builds_under_its_build_directory_asking_where_it_is_once() -> None:
    checkout = Path(__file__).resolve().parents[3]
    build_dirs._checkout.cache_clear()
    assert [build_dirs.build_root(kind) for kind in ("lambda", "agent", "lambda")] == [
        checkout / "build" / "lambda",
        checkout / "build" / "agent",
        checkout / "build" / "lambda",
    ]
    assert build_dirs._checkout.cache_info().misses == 1


def test_an_installed_package_builds_under_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(build_dirs, "_checkout", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build_dirs.build_root("agent") == tmp_path / "tapstack" / "agent"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert build_dirs.build_root("agent") == Path.home() / ".cache" / "tapstack" / "agent"


def test_a_kept_file_replaces_the_old_one_whole_and_an_unwritable_directory_is_no_error(tmp_path: Path) -> None:
    kept = tmp_path / "kept" / "thing.bin"
    build_dirs.keep(kept, b"old")
    build_dirs.keep(kept, b"new")
    assert kept.read_bytes() == b"new" and sorted(p.name for p in kept.parent.iterdir()) == ["thing.bin"]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    build_dirs.keep(blocked / "kept" / "thing.bin", b"data")
    assert blocked.read_text() == ""
