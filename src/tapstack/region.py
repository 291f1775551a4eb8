"""One region of the stack as three components: its base, the foundation (A) and the migration platform (B).

Their children were ``TapStack``'s direct children before these components existed: each child carries an
alias to that old parent, so a stack deployed before keeps every resource (the golden URN check proves it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from .components.base import RegionalComponent
from .components.compute import Compute, ComputeArgs
from .components.function import FunctionSite, FunctionVpc
from .components.migration import MigrationFunction, MigrationFunctionArgs
from .components.monitoring import ComputeAlarms, ComputeAlarmsArgs
from .components.network import Network, NetworkArgs
from .components.notifications import Notifications, NotificationsArgs
from .components.secrets import (
    MigrationSecrets,
    MigrationSecretsArgs,
    RegionKey,
    RegionKeyArgs,
    TokenRotation,
    TokenRotationArgs,
)
from .components.storage import HardenedBucket, HardenedBucketArgs
from .config import KmsMode, NatStrategy, StackConfig
from .lib import endpoints, iam, names
from .lib.names import Name
from .lib.naming import lambda_log_group_name
from .lib.regions import region_code
from .lib.tags import default_tags

CONFIG_PARAMETER = "migration/config"
"""Under ``/<project>/<suffix>/<region code>/``: regional names carry their region (TAP008)."""


@dataclass
class Account:
    """The account and partition the stack deploys to, and the ARNs and bucket names derived from them."""

    config: StackConfig
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]

    def role_arn(self, role_name: str) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:iam::{1}:role/{2}", self.partition, self.account_id, role_name)

    def bucket_name(self, bucket: Name, region: str) -> pulumi.Output[str]:
        return self.account_id.apply(lambda acct: self.config.name(bucket, region, acct))

    def bucket_arn(self, bucket: Name, region: str) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:s3:::{1}", self.partition, self.bucket_name(bucket, region))


class _RegionComponent(RegionalComponent):
    def moved_child(self, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
        """A child parented here that keeps the URN it had as a child of this component's own parent."""
        previous = opts.parent if opts is not None else None
        if previous is None:
            raise TypeError(f"{self._name!r}: pass the TapStack as opts.parent (its children's previous parent)")
        return self.child(aliases=[pulumi.Alias(parent=previous)])


@dataclass
class RegionBaseArgs:
    config: StackConfig
    region: str
    account: Account


class RegionBase(_RegionComponent):
    """What every region has: its KMS key, its SNS topics and its access-log bucket."""

    def __init__(self, name: str, args: RegionBaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:region:RegionBase", name, opts)
        cfg, region, account = args.config, args.region, args.account
        code = region_code(region)
        child = self.moved_child(opts)
        self.key = RegionKey(
            f"{code}-key",
            RegionKeyArgs(
                region=region,
                alias_name=f"alias/{cfg.name(names.KEY_ALIAS, region)}",
                account_id=account.account_id,
                partition=account.partition,
                log_group_arns=[
                    iam.log_group_arn(account.partition, region, account.account_id, g)
                    for g in _log_groups(cfg, region)
                ],
            ),
            child,
        )
        self.data_key_arn = self.key.arn if cfg.kms is KmsMode.CUSTOMER_MANAGED else None
        """The key of data at rest (buckets, secrets, function environment); None: AWS-managed keys."""
        self.notifications = Notifications(
            f"{code}-notify",
            NotificationsArgs(
                region=region,
                alarm_topic_name=cfg.name(names.ALARM_TOPIC, region),
                deployment_topic_name=(cfg.name(names.DEPLOYMENT_TOPIC, region) if cfg.features.migration else None),
                kms_key_arn=self.key.arn,
                account_id=account.account_id,
                partition=account.partition,
                email=cfg.alarm_email,
            ),
            child,
        )
        sources = [
            b
            for b, on in ((names.DATA_BUCKET, cfg.features.compute), (names.DEPLOY_BUCKET, cfg.features.migration))
            if on
        ]
        self.logs = HardenedBucket(
            f"{code}-logs",
            HardenedBucketArgs(
                bucket_name=account.bucket_name(names.LOGS_BUCKET, region),
                kms_key_arn=None,  # S3 server access logs cannot be delivered to SSE-KMS buckets
                policy_statements=[
                    iam.log_delivery_statement(
                        account.bucket_arn(names.LOGS_BUCKET, region),
                        [account.bucket_arn(b, region) for b in sources],
                        account.account_id,
                    )
                ],
            ),
            child,
        )
        self.register_outputs(
            {"keyArn": self.key.arn, "alarmTopicArn": self.notifications.alarm_topic.arn, "logBucket": self.logs.name}
        )


def _log_groups(cfg: StackConfig, region: str) -> list[str]:
    """Every log group of the region: the region key's policy lets CloudWatch Logs use it for these only."""
    groups = []
    if cfg.features.compute:
        groups += [cfg.log_group("flowlogs", region), cfg.log_group("app", region)]
    if cfg.features.migration:
        groups += [
            lambda_log_group_name(cfg.name(f, region)) for f in (names.MIGRATION_FUNCTION, names.ROTATION_FUNCTION)
        ]
    return groups


@dataclass
class FoundationArgs:
    config: StackConfig
    region: str
    account: Account
    base: RegionBase


class Foundation(_RegionComponent):
    """System A in one region: the network, the data bucket, the instance fleet and its alarms."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:region:Foundation", name, opts)
        cfg, region, account, base = args.config, args.region, args.account, args.base
        code = region_code(region)
        child = self.moved_child(opts)
        migration = cfg.features.migration
        self.network = Network(
            f"{code}-net",
            NetworkArgs(
                region=region,
                vpc_cidr=cfg.vpc_cidrs[region],
                az_count=cfg.az_count,
                nat_strategy=cfg.nat_strategy,
                flow_log_group_name=cfg.log_group("flowlogs", region),
                flow_log_role_name=cfg.name(names.FLOWLOGS_ROLE, region),
                log_retention_days=cfg.log_retention_days,
                log_key_arn=base.key.arn,
                account_id=account.account_id,
                partition=account.partition,
                endpoint_bucket_arns=[
                    account.bucket_arn(b, region)
                    for b, on in ((names.DATA_BUCKET, True), (names.DEPLOY_BUCKET, migration))
                    if on
                ],
                endpoint_security_group_name=cfg.name(names.ENDPOINTS_SECURITY_GROUP, region),
                interface_services=endpoints.interface_services(
                    instances=cfg.nat_strategy is NatStrategy.NONE, function=cfg.migration_in_vpc
                ),
                function_bucket_arn=(account.bucket_arn(names.DEPLOY_BUCKET, region) if cfg.migration_in_vpc else None),
            ),
            child,
        )
        self.data = HardenedBucket(
            f"{code}-data",
            HardenedBucketArgs(
                bucket_name=account.bucket_name(names.DATA_BUCKET, region),
                kms_key_arn=base.data_key_arn,
                access_log_bucket=base.logs,
                event_notifications=True,
            ),
            child,
        )
        self.compute = Compute(
            f"{code}-app",
            ComputeArgs(
                region=region,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                instance_type=cfg.instance_type,
                min_size=cfg.asg_min_size,
                desired_capacity=cfg.asg_desired_capacity,
                max_size=cfg.asg_max_size,
                health_check_grace_period=cfg.health_check_grace_period_seconds,
                data_bucket_arn=self.data.arn,
                kms_key_arn=base.data_key_arn,
                log_group_name=cfg.log_group("app", region),
                log_retention_days=cfg.log_retention_days,
                log_key_arn=base.key.arn,
                metric_namespace=f"TapStack/{cfg.environment_suffix}",
                role_name=cfg.name(names.INSTANCE_ROLE, region),
                profile_name=cfg.name(names.INSTANCE_PROFILE, region),
                security_group_name=cfg.name(names.APP_SECURITY_GROUP, region),
                launch_template_name=cfg.name(names.LAUNCH_TEMPLATE, region),
                asg_name=cfg.name(names.AUTO_SCALING_GROUP, region),
                account_id=account.account_id,
                partition=account.partition,
                deployment_bucket_name=account.bucket_name(names.DEPLOY_BUCKET, region) if migration else None,
                deployment_bucket_arn=account.bucket_arn(names.DEPLOY_BUCKET, region) if migration else None,
                instance_types=cfg.instance_types,
                ami_id=cfg.ami_ids.get(region),
                tags=default_tags(cfg.project, cfg.environment_suffix, region, cfg.tags),
            ),
            child,
        )
        ComputeAlarms(
            f"{code}-app-alarms",
            ComputeAlarmsArgs(
                asg_name=self.compute.asg_name,
                min_in_service=cfg.asg_min_size,
                topic_arn=base.notifications.alarm_topic.arn,
                names={a.what: cfg.name(a, region) for a in names.COMPUTE_ALARMS},
            ),
            child,
        )
        self.register_outputs(
            {"vpcId": self.network.vpc_id, "dataBucket": self.data.name, "asgName": self.compute.asg_name}
        )


@dataclass
class MigrationPlatformArgs:
    config: StackConfig
    region: str
    account: Account
    base: RegionBase
    migration_token: pulumi.Input[str]
    deployer_arns: pulumi.Input[list[str]]
    """Who may administer the secret (the deploying principal's patterns)."""
    network: Network | None = None
    """The region's network, to run the function in its private subnets (``migrationInVpc``)."""


class MigrationPlatform(_RegionComponent):
    """System B in one region: the deployment bucket, config and secret, the migration function, rotation."""

    def __init__(self, name: str, args: MigrationPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:region:MigrationPlatform", name, opts)
        cfg, region, account, base = args.config, args.region, args.account, args.base
        code = region_code(region)
        child = self.moved_child(opts)
        is_primary = region == cfg.primary_region
        topic = base.notifications.deployment_topic
        if topic is None:
            raise TypeError(f"{name!r}: the region's Notifications has no deployment topic (migration is off)")
        self.deploy = HardenedBucket(
            f"{code}-deploy",
            HardenedBucketArgs(
                bucket_name=account.bucket_name(names.DEPLOY_BUCKET, region),
                kms_key_arn=base.data_key_arn,
                access_log_bucket=base.logs,
                event_notifications=True,
                object_lock_days=cfg.deployment_object_lock_days,
            ),
            child,
        )
        settings = {
            "project": cfg.project,
            "environment": cfg.environment_suffix,
            "region": region,
            "primary_region": cfg.primary_region,
            "max_manifest_bytes": 1_048_576,
            "max_artifacts": 5000,
            "status_limit": 20,
        }
        self.secrets = MigrationSecrets(
            f"{code}-secrets",
            MigrationSecretsArgs(
                parameter_name=cfg.parameter(f"{code}/{CONFIG_PARAMETER}"),
                parameter_value=json.dumps(settings, sort_keys=True),
                secret_name=cfg.name(names.MIGRATION_SECRET, region),
                secret_value=args.migration_token,
                kms_key_arn=base.data_key_arn,
                recovery_window_days=cfg.secret_recovery_window_days,
                account_id=account.account_id,
                partition=account.partition,
                reader_role_arns=[account.role_arn(cfg.name(names.MIGRATION_ROLE, region))],
                rotation_role_arn=account.role_arn(cfg.name(names.ROTATION_ROLE, region)),
                administrator_arns=args.deployer_arns,
            ),
            child,
        )

        def site(
            function: names.Name, role: names.Name, queue: names.Name, alarms: tuple[names.Name, ...]
        ) -> FunctionSite:
            return FunctionSite(
                region=region,
                function_name=cfg.name(function, region),
                role_name=cfg.name(role, region),
                dead_letter_queue_name=cfg.name(queue, region),
                alarm_names={a.what: cfg.name(a, region) for a in alarms},
                log_retention_days=cfg.log_retention_days,
                key_arn=base.key.arn,
                alarm_topic_arn=base.notifications.alarm_topic.arn,
                account_id=account.account_id,
            )

        self.rotation = TokenRotation(
            f"{code}-rotation",
            TokenRotationArgs(
                site=site(
                    names.ROTATION_FUNCTION,
                    names.ROTATION_ROLE,
                    names.ROTATION_DEAD_LETTER_QUEUE,
                    names.ROTATION_ALARMS,
                ),
                secret=self.secrets,
                kms_key_arn=base.data_key_arn,
                rotation_days=cfg.secret_rotation_days,
            ),
            child,
        )
        self.function = MigrationFunction(
            f"{code}-migration",
            MigrationFunctionArgs(
                site=site(
                    names.MIGRATION_FUNCTION, names.MIGRATION_ROLE, names.DEAD_LETTER_QUEUE, names.FUNCTION_ALARMS
                ),
                is_primary=is_primary,
                bucket_name=self.deploy.name,
                bucket_arn=self.deploy.arn,
                parameter_name=self.secrets.parameter.name,
                parameter_arn=self.secrets.parameter_arn,
                secret_arn=self.secrets.secret_arn,
                deployment_topic_arn=topic.arn,
                kms_key_arn=base.data_key_arn,
                replica_bucket_names=(
                    [account.bucket_name(names.DEPLOY_BUCKET, r) for r in cfg.secondary_regions] if is_primary else []
                ),
                metric_namespace=f"TapStack/{cfg.environment_suffix}",
                asg_name=cfg.name(names.AUTO_SCALING_GROUP, region) if cfg.features.compute else "",
                fleet_grace_seconds=cfg.health_check_grace_period_seconds,
                reserved_concurrency=cfg.migration_reserved_concurrency,
                vpc=_function_vpc(cfg, region, account, args.network),
            ),
            child,
        )
        self.deployment_topic = topic
        self.register_outputs(
            {
                "deploymentBucket": self.deploy.name,
                "functionArn": self.function.function.arn,
                "secretArn": self.secrets.secret_arn,
            }
        )


def _function_vpc(cfg: StackConfig, region: str, account: Account, network: Network | None) -> FunctionVpc | None:
    """The region's private subnets, with ``migrationInVpc`` (config refuses it without compute)."""
    if not cfg.migration_in_vpc:
        return None
    if network is None:
        raise TypeError(f"migrationInVpc in {region}: pass the region's network (the Foundation's)")
    return FunctionVpc(
        vpc_id=network.vpc_id,
        vpc_cidr=cfg.vpc_cidrs[region],
        subnet_ids=network.private_subnet_ids,
        subnet_arns=[s.arn for s in network.private_subnets],
        s3_prefix_list_id=network.s3_prefix_list_id,
        security_group_name=cfg.name(names.MIGRATION_SECURITY_GROUP, region),
        partition=account.partition,
    )
