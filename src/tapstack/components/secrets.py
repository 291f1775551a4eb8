"""Encryption and configuration secrets of one region: the region key, the config parameter, the secret."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..lib import iam
from .base import RegionalComponent


@dataclass
class RegionKeyArgs:
    region: str
    alias_name: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    user_role_arns: Sequence[pulumi.Input[str]]


class RegionKey(RegionalComponent):
    """A customer-managed key with rotation: topics always need it (alarms cannot use the AWS-managed key)."""

    def __init__(self, name: str, args: RegionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:secrets:RegionKey", name, opts)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"TapStack region key ({args.alias_name})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=iam.key_policy(args.account_id, args.partition, args.region, args.user_role_arns),
            opts=self.child(),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=args.alias_name, target_key_id=self.key.key_id, opts=self.child()
        )
        self.arn = self.key.arn
        self.register_outputs({"keyArn": self.key.arn, "alias": self.alias.name})


@dataclass
class MigrationSecretsArgs:
    parameter_name: str
    parameter_value: pulumi.Input[str]
    secret_name: str
    secret_value: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    recovery_window_days: int


class MigrationSecrets(RegionalComponent):
    """The migration settings as a SecureString and the token in Secrets Manager, never in plain text."""

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
            description="TapStack migration token",
            opts=self.child(),
        )
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-token-value",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(args.secret_value),
            opts=self.child(),
        )
        self.parameter_arn = self.parameter.arn
        self.secret_arn = self.secret.arn
        self.register_outputs({"parameterName": self.parameter.name, "secretArn": self.secret.arn})
