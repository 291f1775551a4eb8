"""The type registry is the one vocabulary: the emulator, synth, the diagram and TAP008 agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi_aws
import pytest

from tapstack import resource_types as types
from tapstack.emulator.adapters import RESOURCES
from tapstack.graph import Graph, Resource, as_list, policy_statements
from tapstack.guard.model import Context
from tapstack.guard.rules.naming import scoped_names
from tapstack.resource_types import TYPES, fake_state, refined_key, short_type, title


def test_every_type_an_emulator_adapter_creates_is_in_the_registry() -> None:
    assert sorted(set(RESOURCES) - set(TYPES)) == []


def test_registered_tokens_are_aws_type_tokens_with_a_readable_short_type() -> None:
    for token, registered in TYPES.items():
        assert token == registered.token
        package, module, name = token.split(":")
        assert package == "aws" and name[:1].isupper(), token
        assert registered.short == f"{module.split('/')[0]}:{name}"


def test_a_type_refines_another_or_serves_one_never_both() -> None:
    assert [t.token for t in TYPES.values() if t.refines and t.serves] == []


def test_short_type_and_title_of_registered_and_unknown_types() -> None:
    assert short_type("aws:s3/bucketPolicy:BucketPolicy") == "s3:BucketPolicy"
    assert title(types.BUCKET) == "S3 bucket"
    assert title(types.EIP) == "ec2:Eip"  # registered without a title: the short type
    assert title("aws:ec2/instance:Instance") == "ec2:Instance"  # a graph file may hold any type


def test_an_unregistered_bucket_companion_still_refines_its_bucket() -> None:
    assert refined_key("aws:s3/bucketAcl:BucketAcl") == "bucket"
    assert refined_key(types.BUCKET) is None
    assert refined_key(types.ROUTE) == "routeTableId"
    assert refined_key("aws:ec2/instance:Instance") is None


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf"


@pytest.mark.parametrize(
    ("token", "inputs", "expected_id", "expected_arn"),
    [
        (types.BUCKET, {"bucket": "b-1"}, "b-1", "arn:aws:s3:::b-1"),
        (types.TOPIC, {"name": "t"}, "arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:sns:eu-west-1:123456789012:t"),
        (types.ROLE, {"name": "r"}, "r", "arn:aws:iam::123456789012:role/r"),
        (types.PARAMETER, {"name": "/a/b"}, "/a/b", "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b"),
        (
            types.KMS_KEY,
            {},
            "k-0000-4000-8000-000000000000",
            "arn:aws:kms:eu-west-1:123456789012:key/k-0000-4000-8000-000000000000",
        ),
    ],
)
def test_fake_state_gives_ids_and_arns_shaped_like_the_provider(
    token: str, inputs: dict[str, str], expected_id: str, expected_arn: str
) -> None:
    rid, outputs = fake_state(token, "k", inputs, "eu-west-1")
    assert (rid, outputs["arn"]) == (expected_id, expected_arn)
    assert outputs.items() >= inputs.items()


def test_fake_state_of_an_ec2_type_and_of_an_unregistered_type() -> None:
    rid, outputs = fake_state(types.VPC, "main", {}, "us-east-1")
    assert rid.startswith("vpc-") and outputs["defaultSecurityGroupId"] == f"sg-default-{rid}"
    assert fake_state("aws:ec2/instance:Instance", "web", {"ami": "x"}, "us-east-1") == ("web-id", {"ami": "x"})


def _named_by(token: str) -> dict[str, str]:
    """The input holding a type's physical name, when the registry says it is not ``name``."""
    naming = TYPES[token].naming
    return {naming.prop: "x"} if naming is not None else {}


def test_the_naming_rule_judges_exactly_the_types_registered_with_a_name() -> None:
    """An unsuffixed name on every registered type: TAP008 flags those the registry names, and only those."""
    resources = [
        Resource(
            urn=f"urn:{i}",
            type=token,
            name=f"r{i}",
            region="us-east-1",
            inputs={"name": "x", "bucket": "x", **_named_by(token)},
        )
        for i, token in enumerate(sorted(TYPES))
    ]
    graph = Graph(stack="dev", resources=resources)
    type_of = {r.urn: r.type for r in resources}
    flagged = {type_of[v.urn] for v in scoped_names(graph, Context(environment_suffix="dev"))}
    assert flagged == {token for token, t in TYPES.items() if t.naming}


def test_as_list_reads_one_or_many_and_none_as_empty() -> None:
    assert as_list(None) == []
    assert as_list("s3:GetObject") == ["s3:GetObject"]
    assert as_list(["a", "b"]) == ["a", "b"]


def test_policy_statements_from_text_or_parsed_and_nothing_from_garbage() -> None:
    doc = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject"}}
    assert policy_statements(doc) == [doc["Statement"]]
    assert policy_statements('{"Statement": [{"Effect": "Deny"}, 3]}') == [{"Effect": "Deny"}]
    assert policy_statements("not json") == []
    assert policy_statements(None) == []


_TOKEN_LITERAL = re.compile(r"""["']aws:[a-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+["']""")
JUSTIFIED_LITERALS: dict[str, int] = {}
"""Files outside the registry allowed to spell a type token, with how many times (each justified where it stands).
Empty: every module names types through ``resource_types`` constants, so a misspelt name fails at import."""


def test_no_module_outside_the_registry_spells_a_type_token() -> None:
    src = Path(types.__file__).parent
    found = {
        str(path.relative_to(src)): len(_TOKEN_LITERAL.findall(path.read_text()))
        for path in sorted(src.rglob("*.py"))
        if path.name != "resource_types.py" and _TOKEN_LITERAL.search(path.read_text())
    }
    assert found == JUSTIFIED_LITERALS, "import the constant from tapstack.resource_types (add it there if new)"


def _token_constants() -> dict[str, str]:
    return {k: v for k, v in vars(types).items() if k.isupper() and isinstance(v, str) and v.startswith("aws:")}


def test_every_token_the_registry_names_is_one_the_installed_pulumi_aws_declares() -> None:
    """A misspelt constant would make every comparison against it silently false: the SDK is the authority."""
    sdk = Path(pulumi_aws.__file__).parent
    constants = _token_constants()
    assert len(constants) >= len(TYPES)
    for name, token in constants.items():
        _, module, _ = token.split(":")
        package, member = module.split("/")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", member).lower()
        folder = sdk if package == "index" else sdk / ("lambda_" if package == "lambda" else package)
        source = (folder / snake).with_suffix(".py")
        assert source.is_file() and f"'{token}'" in source.read_text().replace('"', "'"), (name, token)
