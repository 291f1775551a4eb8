"""Configuration: defaults are the secure posture; every bad value fails before any resource, naming the key."""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from tapstack import stackfile
from tapstack.cli import main
from tapstack.config import (
    NAMESPACE,
    SETTINGS,
    ConfigError,
    KmsMode,
    NatStrategy,
    StackConfig,
    build,
    reference_markdown,
)
from tapstack.errors import TapStackError
from tapstack.lib import names
from tapstack.lib.naming import NameKind
from tapstack.program import main as program
from tapstack.synth import synthesize

TOKEN = "unit-test-token"


def cfg(env: dict[str, str] | None = None, **values: Any) -> StackConfig:
    """Build from unqualified keys; the token is present unless a test sets it to None."""
    values.setdefault("migrationToken", TOKEN)
    return build(values, env=env or {})


def test_defaults_are_documented_secure_posture() -> None:
    c = cfg()
    assert c.environment_suffix == "dev"
    assert c.regions == ("us-east-1",)
    assert c.nat_strategy is NatStrategy.PER_AZ
    assert c.kms is KmsMode.CUSTOMER_MANAGED
    assert c.vpc_cidrs == {"us-east-1": "10.0.0.0/16"}
    assert (c.asg_min_size, c.asg_desired_capacity, c.asg_max_size) == (1, 2, 4)
    assert c.log_retention_days == 365
    assert c.features.compute and c.features.migration


def test_every_declared_default_is_the_value_an_unset_key_gets() -> None:
    """The table's default is what the docs print and what build uses: one declaration, no third copy."""
    c = cfg()
    for s in SETTINGS:
        if s.attr is not None and s.default is not None:
            assert getattr(c, s.attr) == s.default, s.key
            assert f"| `{NAMESPACE}:{s.key}` | {s.type} | {s.documented_default} |" in reference_markdown()


def test_every_stack_config_field_comes_from_exactly_one_setting() -> None:
    attrs = [s.attr for s in SETTINGS if s.attr is not None]
    assert sorted(attrs) == sorted(f.name for f in fields(StackConfig))
    assert len({s.key for s in SETTINGS}) == len(SETTINGS)


def test_suffix_falls_back_to_environment_variable() -> None:
    assert cfg(env={"ENVIRONMENT_SUFFIX": "pr123"}).environment_suffix == "pr123"
    assert cfg(env={"ENVIRONMENT_SUFFIX": "pr123"}, environmentSuffix="qa").environment_suffix == "qa"


def test_default_cidrs_never_overlap_across_regions() -> None:
    c = cfg(regions=["us-east-1", "us-west-2", "eu-west-1"])
    assert list(c.vpc_cidrs.values()) == ["10.0.0.0/16", "10.16.0.0/16", "10.32.0.0/16"]
    assert c.primary_region == "us-east-1"
    assert c.secondary_regions == ("us-west-2", "eu-west-1")


def test_structured_values_arrive_as_strings_from_the_cli() -> None:
    c = cfg(regions="us-east-1, eu-west-1", azCount="3", asgMinSize="2", asgDesiredCapacity="2", asgMaxSize="5")
    assert c.regions == ("us-east-1", "eu-west-1")
    assert c.az_count == 3
    assert (c.asg_min_size, c.asg_max_size) == (2, 5)


def test_az_count_may_use_every_zone_of_the_region() -> None:
    assert cfg(regions=["us-east-1"], azCount=6).az_count == 6
    assert cfg(regions=["us-west-1"], azCount=2).az_count == 2


def test_token_is_not_needed_without_the_migration_platform() -> None:
    c = cfg(migrationToken=None, features={"compute": True, "migration": False})
    assert not c.features.migration


def test_public_vpc_ranges_outside_the_reserved_blocks_are_accepted() -> None:
    assert cfg(vpcCidrs={"us-east-1": "100.64.0.0/16"}).vpc_cidrs == {"us-east-1": "100.64.0.0/16"}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"regions": ["us-east-1", "mars-north-1"]}, "tapstack:regions: got 'mars-north-1'; allowed: us-east-1,"),
    ({"regions": ["us-east-1", "us-east-1"]}, "tapstack:regions: got 'us-east-1'; each region may appear once"),
    ({"regions": []}, "tapstack:regions: got []; expected a non-empty list of region names"),
    (
        {"regions": ["us-east-1", "eu-west-1"], "vpcCidrs": {"us-east-1": "10.0.0.0/16", "eu-west-1": "10.0.128.0/17"}},
        "tapstack:vpcCidrs: got {'us-east-1': '10.0.0.0/16', 'eu-west-1': '10.0.128.0/17'}; VPCs of us-east-1 "
        "and eu-west-1 overlap",
    ),
    ({"vpcCidrs": {"us-east-1": "10.0.0.0/8"}}, "tapstack:vpcCidrs.us-east-1: got '10.0.0.0/8'; AWS allows VPC sizes"),
    ({"vpcCidrs": {"us-east-1": "banana"}}, "tapstack:vpcCidrs.us-east-1: got 'banana'; expected an IPv4 network"),
    ({"vpcCidrs": {"eu-west-1": "10.9.0.0/16"}}, "tapstack:vpcCidrs: got ['eu-west-1']; keys must be deployed regions"),
    # issue 14.6: ranges that can never hold a VPC
    (
        {"vpcCidrs": {"us-east-1": "0.0.0.0/16"}},
        "tapstack:vpcCidrs.us-east-1: got '0.0.0.0/16'; 0.0.0.0/8 is 'this network' (RFC 6890) and cannot hold a VPC",
    ),
    (
        {"vpcCidrs": {"us-east-1": "127.0.0.0/16"}},
        "tapstack:vpcCidrs.us-east-1: got '127.0.0.0/16'; 127.0.0.0/8 is loopback and cannot hold a VPC; "
        "use an RFC 1918 range such as 10.0.0.0/16",
    ),
    (
        {"vpcCidrs": {"us-east-1": "169.254.0.0/16"}},
        "tapstack:vpcCidrs.us-east-1: got '169.254.0.0/16'; 169.254.0.0/16 is link-local",
    ),
    (
        {"vpcCidrs": {"us-east-1": "224.0.0.0/16"}},
        "tapstack:vpcCidrs.us-east-1: got '224.0.0.0/16'; 224.0.0.0/4 is mul",
    ),
    ({"vpcCidrs": {"us-east-1": "239.255.0.0/16"}}, "tapstack:vpcCidrs.us-east-1: got '239.255.0.0/16'; 224.0.0.0/4"),
    ({"vpcCidrs": {"us-east-1": "240.0.0.0/16"}}, "tapstack:vpcCidrs.us-east-1: got '240.0.0.0/16'; 240.0.0.0/4 is"),
    ({"vpcCidrs": {"us-east-1": "255.255.255.0/24"}}, "tapstack:vpcCidrs.us-east-1: got '255.255.255.0/24'; 240.0"),
    ({"azCount": 1}, "tapstack:azCount: got 1; expected a whole number from 2 to 6"),
    ({"azCount": "many"}, "tapstack:azCount: got 'many'; expected a whole number from 2 to 6"),
    # issue 14.2: more zones than the region has
    (
        {"regions": ["us-east-1", "us-west-1"], "azCount": 3},
        "tapstack:azCount: got 3; us-west-1 has 2 Availability Zones every account can use; use at most 2",
    ),
    ({"regions": ["eu-west-1"], "azCount": "4"}, "tapstack:azCount: got '4'; eu-west-1 has 3 Availability Zones"),
    ({"natStrategy": "two"}, "tapstack:natStrategy: got 'two'; allowed: none, single, per_az"),
    (
        {"asgMinSize": 3, "asgDesiredCapacity": 2, "asgMaxSize": 4},
        "tapstack:asgDesiredCapacity: got {'asgMinSize': 3, 'asgDesiredCapacity': 2, 'asgMaxSize': 4}; "
        "need asgMinSize <= asgDesiredCapacity <= asgMaxSize",
    ),
    (
        {"asgMinSize": 1, "asgDesiredCapacity": 5, "asgMaxSize": 4},
        "tapstack:asgDesiredCapacity: got {'asgMinSize': 1, 'asgDesiredCapacity': 5, 'asgMaxSize': 4}",
    ),
    ({"environmentSuffix": "Prod_1"}, "tapstack:environmentSuffix: got 'Prod_1'; use 1-20 lowercase letters"),
    ({"environmentSuffix": "-dev"}, "tapstack:environmentSuffix: got '-dev'; use 1-20 lowercase letters"),
    ({"project": "9lives"}, "tapstack:project: got '9lives'; use 2-24 lowercase letters"),
    (
        {"project": "a-very-long-project-nam", "environmentSuffix": "pr-20240101-feature"},
        "tapstack:environmentSuffix: got 'pr-20240101-feature'; name 'a-very-long-project-nam-deploy-use1-"
        "123456789012-pr-20240101-feature' is 68 characters; AWS allows at most 63 for bucket names",
    ),
    ({"logRetentionDays": 42}, "tapstack:logRetentionDays: got 42; allowed: 1, 3, 5, 7, 14, 30, 60, 90"),
    ({"healthCheckGracePeriodSeconds": -5}, "tapstack:healthCheckGracePeriodSeconds: got -5; expected a whole number"),
    ({"alarmEmail": "not-an-email"}, "tapstack:alarmEmail: got 'not-an-email'; expected an email address"),
    ({"kms": "none"}, "tapstack:kms: got 'none'; allowed: aws-managed, customer-managed"),
    (
        {"features": {"compute": False, "migration": False}},
        "tapstack:features: got {'compute': False, 'migration': False}; enable at least one of compute, migration",
    ),
    ({"features": {"network": True}}, "tapstack:features: got ['network']; allowed keys: compute, migration"),
    ({"features": {"compute": "yes"}}, "tapstack:features.compute: got 'yes'; expected true or false"),
    ({"tags": {"aws:owner": "x"}}, "tapstack:tags.aws:owner: got 'x'; keys 1-128 characters not starting with 'aws:'"),
    (
        {"secretRecoveryWindowDays": 3},
        "tapstack:secretRecoveryWindowDays: got 3; AWS allows 0 (delete at once) or 7-30",
    ),
    ({"instanceType": "big"}, "tapstack:instanceType: got 'big'; expected an EC2 instance type such as t3.micro"),
    # issue 14.1: a typo must not fall back to the default silently
    (
        {"azCuont": 3},
        "tapstack:azCuont: got 3; not a TapStack setting; did you mean tapstack:azCount? "
        "(reference: docs/configuration.md)",
    ),
    ({"natStategy": "single"}, "tapstack:natStategy: got 'single'; not a TapStack setting; did you mean tapstack:natS"),
    (
        {"regoins": ["us-east-1"]},
        "tapstack:regoins: got ['us-east-1']; not a TapStack setting; did you mean tapstack:re",
    ),
    ({"NATSTRATEGY": "none"}, "tapstack:NATSTRATEGY: got 'none'; not a TapStack setting; did you mean tapstack:natStr"),
    ({"zzz": 1}, "tapstack:zzz: got 1; not a TapStack setting; known keys: environmentSuffix, project, regions,"),
    # issue 11.5: the token rule lives in config, before TapStack registers anything
    (
        {"migrationToken": None},
        "tapstack:migrationToken: got None; required with features.migration: "
        "`pulumi config set --secret tapstack:migrationToken <value>` (local runs: the TAPSTACK_MIGRATION_TOKEN",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), BAD, ids=[m.split(":")[1].split(" ")[0] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_values_fail_with_key_value_and_allowed(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        cfg(**values)
    assert str(exc.value).startswith(message)


BILLION_LAUGHS = "config:\n  tapstack:project: tapstack\n" + "".join(
    f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]\n" if i else 'lol0: &lol0 ["lol"]\n' for i in range(10)
)

# (stack file bytes or None, --set items, the one line the user reads)
BAD_INPUT: list[tuple[bytes | None, list[str], str]] = [
    # issue 14.1: unknown tapstack:* keys in a stack file and on the command line
    (
        b"config:\n  tapstack:natStategy: single\n",
        [],
        "{file}: tapstack:natStategy: got 'single'; not a TapStack setting; did you mean tapstack:natStrategy?",
    ),
    (None, ["azCuont=3"], "tapstack:azCuont: got 3; not a TapStack setting; did you mean tapstack:azCount?"),
    # issue 14.3: not UTF-8
    (
        "config:\n  tapstack:project: café\n".encode("latin-1"),
        [],
        "{file}: byte 0xe9 at offset 31 is not UTF-8; save the file as UTF-8",
    ),
    # issue 14.4: the same key twice, directly or once with and once without the namespace
    (
        b"config:\n  tapstack:azCount: 2\n  tapstack:azCount: 3\n",
        [],
        "{file}: line 3, column 3: key 'tapstack:azCount' appears more than once (each key may appear once)",
    ),
    (
        b"config:\n  tapstack:tags:\n    Owner: a\n    Owner: b\n",
        [],
        "{file}: line 4, column 5: key 'Owner' appears more than once",
    ),
    (
        b"config:\n  azCount: 2\n  tapstack:azCount: 3\n",
        [],
        "{file}: tapstack:azCount is given twice (once with the 'tapstack:' prefix)",
    ),
    # issue 14.5: aliases (a billion laughs expands to 10**9 strings)
    (BILLION_LAUGHS.encode(), [], "{file}: line 3, column 7: &lol0: YAML anchors and aliases are not allowed"),
    (b"config:\n  tapstack:project: " + b"x" * (1024 * 1024) + b"\n", [], "{file}: 1048605 bytes; a stack file may"),
    # issue 14.7: a secret on the command line
    (
        None,
        ["migrationToken=hunter2"],
        "--set tapstack:migrationToken: a secret on the command line lands in shell history and the process list "
        "(value not shown); set the TAPSTACK_MIGRATION_TOKEN environment variable for local runs, or "
        "`pulumi config set --secret tapstack:migrationToken` for a Pulumi stack",
    ),
    (None, ["tapstack:migrationToken=hunter2"], "--set tapstack:migrationToken: a secret on the command line"),
]


def _write(tmp_path: Path, data: bytes | None) -> Path | None:
    if data is None:
        return None
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("data", "sets", "message"), BAD_INPUT)
def test_bad_stack_files_and_overrides_fail_fast_naming_the_key(
    tmp_path: Path, data: bytes | None, sets: list[str], message: str
) -> None:
    path = _write(tmp_path, data)
    started = time.perf_counter()
    with pytest.raises(TapStackError) as exc:
        stackfile.load(path, sets)
    assert time.perf_counter() - started < 1.0
    assert str(exc.value).startswith(message.format(file=path))
    assert "hunter2" not in str(exc.value)


@pytest.mark.parametrize(("data", "sets", "message"), BAD_INPUT[:3] + BAD_INPUT[6:7] + BAD_INPUT[8:9])
def test_cli_turns_bad_input_into_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes | None, sets: list[str], message: str
) -> None:
    path = _write(tmp_path, data)
    args = ["synth"] + (["--config", str(path)] if path else []) + [a for s in sets for a in ("--set", s)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(file=path)[:60])
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_local_deploy_refuses_more_zones_than_the_region_has_before_starting_the_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    assert main(["up", "--local", "--set", 'regions=["us-west-1"]', "--set", "azCount=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: tapstack:azCount: got '3'; us-west-1 has 2 Availability Zones")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - started < 20


def test_the_program_refuses_an_unknown_key_set_through_pulumi_config() -> None:
    """`pulumi config set tapstack:azCuont 3` reaches the program through the runtime, not through a stack file."""
    values = {"tapstack:azCuont": "3", "tapstack:migrationToken": TOKEN, "aws:region": "us-east-1"}
    with pytest.raises(ConfigError, match=r"^tapstack:azCuont: got '3'; not a TapStack setting; did you mean"):
        synthesize(program, values, secret_keys=["tapstack:migrationToken"])


def test_the_program_sees_keys_the_pulumi_cli_passes_in_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Pulumi CLI hands a program its configuration as PULUMI_CONFIG (JSON); a typo there is caught too."""
    monkeypatch.setenv("PULUMI_CONFIG", '{"tapstack:natStategy": "single"}')
    with pytest.raises(ConfigError, match=r"^tapstack:natStategy: got 'single'; .* did you mean tapstack:natStrategy"):
        synthesize(program, {"tapstack:migrationToken": TOKEN}, secret_keys=["tapstack:migrationToken"])


def test_keys_of_other_namespaces_are_passed_through(tmp_path: Path) -> None:
    path = _write(tmp_path, b"config:\n  aws:region: us-east-1\n  myteam:owner: ops\n  tapstack:azCount: 3\n")
    settings = stackfile.load(path, ["aws:profile=dev"])
    assert settings.values == {
        "aws:region": "us-east-1",
        "myteam:owner": "ops",
        "tapstack:azCount": 3,
        "aws:profile": "dev",
    }


def test_long_suffix_that_fits_every_limit_is_accepted() -> None:
    c = cfg(environmentSuffix="pr-2024-feature-x", regions=["ap-southeast-2", "ap-northeast-1"])
    name = c.name(names.DEPLOY_BUCKET, "ap-southeast-2", "123456789012")
    assert name == "tapstack-deploy-apse2-123456789012-pr-2024-feature-x"
    assert len(name) <= 63


def test_readme_configuration_table_matches_the_code() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("<!-- config-reference:start -->\n") + len("<!-- config-reference:start -->\n")
    end = readme.index("<!-- config-reference:end -->")
    assert readme[start:end] == reference_markdown()


@pytest.mark.parametrize("example", ["foundation", "platform"])
def test_every_name_the_program_gives_a_catalogued_kind_is_one_config_length_checked(example: str) -> None:
    """Config checks the names of the catalogue (lib/names.py): a name built elsewhere would escape the check."""
    from tapstack.resource_types import ACCOUNT_ID, TYPES
    from tests.helpers import example_config, run_synth

    settings = example_config(example)
    c = cfg(**{k.removeprefix(f"{NAMESPACE}:"): v for k, v in settings.items() if k.startswith(f"{NAMESPACE}:")})
    checked = {
        c.name(entry, region, ACCOUNT_ID if entry.kind is NameKind.BUCKET else None, secondary)
        for entry in names.CATALOGUE
        for region, secondary in names.uses(c.primary_region, c.regions, entry)
    }
    # log groups and parameters are paths (StackConfig.log_group/.parameter); IAM policies are named by their role
    kinds = set(NameKind) - {NameKind.LOG_GROUP, NameKind.SSM_PARAMETER, NameKind.IAM_POLICY}
    built = [
        str(r.inputs[naming.prop]).removeprefix("alias/")
        for r in run_synth(settings).aws_resources()
        if (naming := getattr(TYPES.get(r.type), "naming", None)) is not None and naming.kind in kinds
    ]
    assert len(built) > 10
    assert sorted(set(built) - checked) == []
