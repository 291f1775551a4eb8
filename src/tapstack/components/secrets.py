"""Encryption and configuration secrets of one region: the region key, the config parameter, the secret and the
function that rotates it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from ..lib import iam
from ..lib.contract_files import runtime_files
from .base import RegionalComponent
from .function import FunctionAlarms, FunctionSite, LambdaFunction, LambdaFunctionArgs


@dataclass
class RegionKeyArgs:
    region: str
    alias_name: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    log_group_arns: Sequence[pulumi.Input[str]] = ()
    """The stack's log groups of this region: CloudWatch Logs may use the key for exactly these."""


class RegionKey(RegionalComponent):
    """A customer-managed key with rotation: topics always need it (alarms cannot use the AWS-managed key).

    The key is created with the policy its first users need (root administration, CloudWatch, CloudWatch Logs
    for the region's log groups, which are created with the key); ``grant_users`` then writes the full policy,
    which names the stack's roles as principals, once those roles exist. The key ignores later changes of its
    own ``policy`` input: the key policy resource owns the policy from then on, and the two would otherwise
    write it back and forth.
    """

    def __init__(self, name: str, args: RegionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:secrets:RegionKey", name, opts)
        self._args = args
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"TapStack region key ({args.alias_name})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=iam.key_policy(args.account_id, args.partition, args.region, log_group_arns=args.log_group_arns),
            opts=self.child(ignore_changes=["policy"]),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=args.alias_name, target_key_id=self.key.key_id, opts=self.child()
        )
        self.arn = self.key.arn
        self.policy: aws.kms.KeyPolicy | None = None
        self.register_outputs({"keyArn": self.key.arn, "alias": self.alias.name})

    def grant_users(self, role_arns: Sequence[pulumi.Input[str]]) -> aws.kms.KeyPolicy:
        """The key's full policy, naming ``role_arns`` (the ARN outputs of the roles themselves, so the policy is
        written after they exist) as the key's users. Called once, after every role of the stack is declared."""
        if self.policy is not None:
            raise ValueError(f"{self._name}: the key's users are granted once")
        args = self._args
        self.policy = aws.kms.KeyPolicy(
            f"{self._name}-policy",
            key_id=self.key.key_id,
            policy=iam.key_policy(args.account_id, args.partition, args.region, role_arns, args.log_group_arns),
            opts=self.child(),
        )
        return self.policy


SEED_STAGE = "TAPSTACK_SEED"
"""The staging label of the token's first version, the one Pulumi writes (see ``MigrationSecrets``)."""


@dataclass
class MigrationSecretsArgs:
    parameter_name: str
    parameter_value: pulumi.Input[str]
    secret_name: str
    secret_value: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    recovery_window_days: int
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    reader_role_arns: Sequence[pulumi.Input[str]]
    """The roles that read the token (the migration function's)."""
    rotation_role_arn: pulumi.Input[str]
    administrator_arns: pulumi.Input[Sequence[str]]
    """``aws:PrincipalArn`` patterns of the deploying identity (lib/iam.principal_arn_patterns)."""


class MigrationSecrets(RegionalComponent):
    """The migration settings as a SecureString and the token in Secrets Manager, never in plain text; only its
    readers may read the token and only its rotation role may change it (the secret's resource policy)."""

    def __init__(self, name: str, args: MigrationSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:secrets:MigrationSecrets", name, opts)
        self.parameter = aws.ssm.Parameter(
            f"{name}-config",
            name=args.parameter_name,
            type="SecureString",
            value=pulumi.Output.secret(args.parameter_value),
            key_id=args.kms_key_arn,
            tier="Standard",
            description="TapStack migration settings (JSON)",
            opts=self.child(),
        )
        self.secret = aws.secretsmanager.Secret(
            f"{name}-token",
            name=args.secret_name,
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=args.recovery_window_days,
            description="TapStack migration token (rotated; docs/security.md)",
            opts=self.child(),
        )
        self.secret_policy = aws.secretsmanager.SecretPolicy(
            f"{name}-token-policy",
            secret_arn=self.secret.arn,
            policy=iam.secret_policy(
                self.secret.arn,
                args.account_id,
                args.partition,
                args.reader_role_arns,
                args.rotation_role_arn,
                args.administrator_arns,
            ),
            block_public_policy=True,
            opts=self.child(),
        )
        # The seed only; rotation owns the token afterwards. The version carries a label of its own instead of
        # AWSCURRENT: Secrets Manager makes the first version of a secret AWSCURRENT whatever labels it is given
        # (PutSecretValue API reference), and a later write with only SEED_STAGE moves no label that matters. So
        # (1) the seed keeps a label for ever, is never deprecated and never removed by Secrets Manager, and
        # the provider never drops it from the state; and (2) if it were recreated all the same (a lost state,
        # terraform-provider-aws#37302: a removed version vanishes on refresh and the next `up` writes it
        # again), the write would not put the stack-config token back as current. Changes of the token in the
        # stack config and of the labels rotation moves are ignored: after the first deploy, rotate the secret.
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-token-value",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(args.secret_value),
            version_stages=[SEED_STAGE],
            opts=self.child(ignore_changes=["versionStages", "secretString"]),
        )
        self.parameter_arn = self.parameter.arn
        self.secret_arn = self.secret.arn
        self.register_outputs({"parameterName": self.parameter.name, "secretArn": self.secret.arn})


ROTATION_DIR = Path(__file__).resolve().parent.parent / "rotation"
ROTATION_PACKAGE = "rotation"


def rotation_files() -> dict[str, Path]:
    """Archive paths -> files: the rotation package's own modules as the top-level package ``rotation``, and the
    runtime its explicit entry takes (``tapstack/runtime.py``)."""
    return {**{f"{ROTATION_PACKAGE}/{p.name}": p for p in sorted(ROTATION_DIR.glob("*.py"))}, **runtime_files()}


def rotation_archive() -> pulumi.AssetArchive:
    """The rotation function's files; it calls only Secrets Manager APIs every Lambda runtime's boto3 has, so it
    ships without a boto3 of its own."""
    return pulumi.AssetArchive({path: pulumi.FileAsset(str(file)) for path, file in rotation_files().items()})


ALARM_KINDS = FunctionAlarms(
    errors="rotation-errors", throttles="rotation-throttles", dead_letters="rotation-dead-letters"
)


@dataclass
class TokenRotationArgs:
    site: FunctionSite
    """Its names (alarms: rotation-errors, rotation-throttles, rotation-dead-letters), key and topic."""
    secret: MigrationSecrets
    kms_key_arn: pulumi.Input[str] | None
    """The secret's key (None: the AWS-managed key), used through Secrets Manager only."""
    rotation_days: int
    runtime: str = "python3.12"


class TokenRotation(RegionalComponent):
    """The token's rotation function (tapstack.rotation) as a ``LambdaFunction``, and the schedule that calls it."""

    def __init__(self, name: str, args: TokenRotationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:secrets:TokenRotation", name, opts)

        def policy(
            log_group_arn: pulumi.Output[str], dead_letter: tuple[pulumi.Output[str], pulumi.Input[str]]
        ) -> list[iam.Statement]:
            return iam.rotation_statements(
                region=args.site.region,
                secret_arn=args.secret.secret_arn,
                log_group_arn=log_group_arn,
                key_arn=args.kms_key_arn,
                dead_letter=dead_letter,
            )

        self.lambda_function = LambdaFunction(
            name,
            LambdaFunctionArgs(
                site=args.site,
                purpose="rotation",
                description="TapStack migration token rotation (Secrets Manager four-step protocol)",
                handler=f"{ROTATION_PACKAGE}.app.handler",
                code=rotation_archive(),
                policy=policy,
                alarms=ALARM_KINDS,
                runtime=args.runtime,
                timeout_seconds=30,
                memory_mb=128,
            ),
            self.child(),
            moved_from=self,
        )
        built = self.lambda_function
        self.log_group, self.role, self.role_policy, self.function = (
            built.log_group,
            built.role,
            built.role_policy,
            built.function,
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="secretsmanager.amazonaws.com",
            source_account=args.site.account_id,
            opts=self.child(),
        )
        self.schedule = aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            secret_id=args.secret.secret.id,
            rotation_lambda_arn=self.function.arn,
            rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                automatically_after_days=args.rotation_days
            ),
            opts=self.child(depends_on=[self.permission, args.secret.secret_version]),
        )
        self.register_outputs(
            {"functionName": self.function.name, "functionArn": self.function.arn, "roleArn": self.role.arn}
        )
