"""The migration token's rotation and resource policy in the emulator, shown by execution."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from functools import partial

import pytest

from tapstack.components.secrets import SEED_STAGE
from tapstack.rotation import app
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed
from tests.integration.test_least_privilege import ClientFor, _assume, _denied

pytestmark = pytest.mark.integration


def test_the_deploy_rotated_each_token_once_through_the_function(deployed: Deployed) -> None:
    for region in (PRIMARY, SECONDARY):
        sm = deployed.aws("secretsmanager", region)
        arn = deployed.out(region, "secret_arn")
        described = sm.describe_secret(SecretId=arn)
        assert described["RotationEnabled"] is True
        assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
        assert described["RotationLambdaARN"].endswith(f":function:{deployed.out(region, 'rotation_function_name')}")
        current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
        previous = sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"]
        assert app.TOKEN_PATTERN.fullmatch(current) and current != previous


def test_the_rotation_steps_are_logged_in_the_functions_encrypted_log_group(deployed: Deployed) -> None:
    logs = deployed.aws("logs", PRIMARY)
    group = f"/aws/lambda/{deployed.out(PRIMARY, 'rotation_function_name')}"
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["kmsKeyId"] == deployed.out(PRIMARY, "kms_key_arn")
    steps = [json.loads(e["message"])["step"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert sorted(steps) == sorted(app.STEPS)


@pytest.fixture
def roles(deployed: Deployed) -> Iterator[dict[str, ClientFor]]:
    """The rotation, migration and instance roles of the primary, with IAM enforced until the test ends."""
    clients = {
        key: _assume(deployed, deployed.out(PRIMARY, key)) for key in ("rotation_role_arn", "migration_role_arn")
    }
    clients["instance_role_arn"] = _assume(deployed, deployed.out(PRIMARY, "instance_role_arn"), "i-0aaaaaaaaaaaaaaa1")
    deployed.emulator.enforce_iam(True)
    try:
        yield clients
    finally:
        deployed.emulator.enforce_iam(False)


def test_the_rotation_role_runs_every_step_on_its_own_secret(deployed: Deployed, roles: dict[str, ClientFor]) -> None:
    sm = roles["rotation_role_arn"]("secretsmanager", PRIMARY)
    arn = deployed.out(PRIMARY, "secret_arn")
    token = str(uuid.uuid4())
    assert app.create_pending(sm, arn, token) == "pending value created"
    assert app.check_pending(sm, arn, token) == "pending value is a fresh, well-formed token"
    assert app.promote_pending(sm, arn, token) == "promoted to AWSCURRENT"
    assert sm.describe_secret(SecretId=arn)["VersionIdsToStages"][token] == ["AWSPENDING", "AWSCURRENT"]
    other = roles["rotation_role_arn"]("secretsmanager", SECONDARY)
    _denied(partial(other.get_secret_value, SecretId=deployed.out(SECONDARY, "secret_arn")))


def test_only_the_rotation_role_changes_the_token_and_the_instances_cannot_read_it(
    deployed: Deployed, roles: dict[str, ClientFor]
) -> None:
    arn = deployed.out(PRIMARY, "secret_arn")
    migration = roles["migration_role_arn"]("secretsmanager", PRIMARY)
    assert app.TOKEN_PATTERN.fullmatch(migration.get_secret_value(SecretId=arn)["SecretString"])
    _denied(partial(migration.put_secret_value, SecretId=arn, SecretString="x" * 43))
    _denied(partial(migration.update_secret_version_stage, SecretId=arn, VersionStage="AWSCURRENT"))
    instance = roles["instance_role_arn"]("secretsmanager", PRIMARY)
    _denied(partial(instance.get_secret_value, SecretId=arn))


def test_the_secret_policy_denies_reading_to_every_principal_but_its_readers(deployed: Deployed) -> None:
    """The deployed document, read back: who is exempt from each deny (its effect is executed in the test below)."""
    arn = deployed.out(PRIMARY, "secret_arn")
    policy = json.loads(deployed.aws("secretsmanager", PRIMARY).get_resource_policy(SecretId=arn)["ResourcePolicy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    deny = by_sid["DenyReadingToAllOthers"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == (
        "Deny",
        {"AWS": "*"},
        ["secretsmanager:GetSecretValue"],
    )
    exempt = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    roles = {deployed.out(PRIMARY, k) for k in ("migration_role_arn", "rotation_role_arn")}
    assert roles <= set(exempt)
    assert deployed.out(PRIMARY, "instance_role_arn") not in exempt
    writers = by_sid["DenyChangingToAllButRotation"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert deployed.out(PRIMARY, "rotation_role_arn") in writers
    assert deployed.out(PRIMARY, "migration_role_arn") not in writers


def test_a_role_allowed_every_secret_still_cannot_read_or_change_the_token(deployed: Deployed) -> None:
    """The resource policy's explicit denies win over an over-broad identity policy, as in AWS."""
    iam = deployed.aws("iam")
    name = f"broad-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    everything = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:List*"],
                "Resource": "*",
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="every-secret", PolicyDocument=json.dumps(everything))
    broad = _assume(deployed, role["Arn"])("secretsmanager", PRIMARY)
    arn = deployed.out(PRIMARY, "secret_arn")
    deployed.emulator.enforce_iam(True)
    try:
        assert broad.list_secrets()["SecretList"]  # its identity policy works where no resource policy objects
        _denied(partial(broad.get_secret_value, SecretId=arn))
        _denied(partial(broad.put_secret_value, SecretId=arn, SecretString="y" * 43))
    finally:
        deployed.emulator.enforce_iam(False)


def test_the_seed_version_keeps_its_own_label_and_writing_it_again_never_restores_the_stack_config_token(
    deployed: Deployed,
) -> None:
    """Secrets Manager made the seed AWSCURRENT (the secret's first version) until rotation moved the label on; a
    version written again with only the seed label (a recreated SecretVersion, terraform-provider-aws#37302)
    leaves the rotated token current."""
    sm = deployed.aws("secretsmanager", SECONDARY)
    arn = deployed.out(SECONDARY, "secret_arn")
    stages = {v["VersionId"]: v["VersionStages"] for v in sm.list_secret_version_ids(SecretId=arn)["Versions"]}
    (seed,) = [v for v, labels in stages.items() if SEED_STAGE in labels]
    assert "AWSCURRENT" not in stages[seed], "rotated once at deploy"
    current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    sm.put_secret_value(SecretId=arn, SecretString="stack-config-token", VersionStages=[SEED_STAGE])
    assert sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"] == current
    assert sm.get_secret_value(SecretId=arn, VersionStage=SEED_STAGE)["SecretString"] == "stack-config-token"
