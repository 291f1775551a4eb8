"""TapStack: per region the foundation (A) and/or the migration platform (B), then replication."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .components.compute import Compute, ComputeArgs
from .components.migration import FunctionVpc, MigrationFunction, MigrationFunctionArgs
from .components.monitoring import ComputeAlarms, ComputeAlarmsArgs
from .components.network import Network, NetworkArgs
from .components.notifications import Notifications, NotificationsArgs
from .components.replication import ReplicaAlarms, ReplicaTarget, Replication, ReplicationArgs
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
from .lib import endpoints, iam
from .lib.naming import NameKind, lambda_log_group_name
from .lib.regions import region_code
from .lib.tags import default_tags
from .providers import ProviderManager

CONFIG_PARAMETER = "migration/config"
"""Under ``/<project>/<suffix>/<region code>/``: regional names carry their region (TAP008)."""


@dataclass
class TapStackArgs:
    config: StackConfig
    migration_token: pulumi.Input[str] | None


@dataclass
class _Region:
    """What one region built, for replication and exports."""

    key: RegionKey
    notifications: Notifications
    logs: HardenedBucket
    network: Network | None = None
    data: HardenedBucket | None = None
    compute: Compute | None = None
    deploy: HardenedBucket | None = None
    secrets: MigrationSecrets | None = None
    function: MigrationFunction | None = None
    rotation: TokenRotation | None = None


class TapStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: TapStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:index:TapStack", name, None, opts)
        cfg = args.config
        self.cfg = cfg
        self.token = args.migration_token
        self.providers = ProviderManager(cfg, parent=self)
        primary = pulumi.InvokeOutputOptions(provider=self.providers.get(cfg.primary_region), parent=self)
        self.account_id = aws.get_caller_identity_output(opts=primary).account_id
        self.partition = aws.get_partition_output(opts=primary).partition
        self.deployer_arns = aws.get_caller_identity_output(opts=primary).arn.apply(iam.principal_arn_patterns)
        self.regions: dict[str, _Region] = {region: self._region(region) for region in cfg.regions}
        self.replication: Replication | None = None
        if cfg.features.migration and cfg.secondary_regions:
            self.replication = self._replicate()
        self.exports = self._exports()
        self.register_outputs({"primaryRegion": cfg.primary_region, "regions": list(cfg.regions)})

    def _role_arn(self, role_name: str) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:iam::{1}:role/{2}", self.partition, self.account_id, role_name)

    def _bucket_name(self, what: str, region: str) -> pulumi.Output[str]:
        return self.account_id.apply(lambda acct: self.cfg.name(NameKind.BUCKET, what, region, acct))

    def _bucket_arn(self, what: str, region: str) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:s3:::{1}", self.partition, self._bucket_name(what, region))

    def _log_groups(self, region: str) -> list[str]:
        """Every log group of the region: the region key's policy lets CloudWatch Logs use it for these only."""
        cfg = self.cfg
        groups = []
        if cfg.features.compute:
            groups += [cfg.log_group("flowlogs", region), cfg.log_group("app", region)]
        if cfg.features.migration:
            groups += [lambda_log_group_name(cfg.name(NameKind.LAMBDA, w, region)) for w in ("migration", "rotation")]
        return groups

    def _region(self, region: str) -> _Region:
        cfg = self.cfg
        code = region_code(region)
        opts = pulumi.ResourceOptions(parent=self, provider=self.providers.get(region))
        roles = []
        if cfg.features.compute:
            roles.append(cfg.name(NameKind.IAM_ROLE, "instance", region))
        if cfg.features.migration:
            roles.append(cfg.name(NameKind.IAM_ROLE, "migration", region))
            roles.append(cfg.name(NameKind.IAM_ROLE, "rotation", region))
            if cfg.secondary_regions:
                roles.append(cfg.name(NameKind.IAM_ROLE, "replication", cfg.primary_region))
        key = RegionKey(
            f"{code}-key",
            RegionKeyArgs(
                region=region,
                alias_name=f"alias/{cfg.name(NameKind.KMS_ALIAS, 'key', region)}",
                account_id=self.account_id,
                partition=self.partition,
                user_role_arns=[self._role_arn(r) for r in roles],
                log_group_arns=[
                    iam.log_group_arn(self.partition, region, self.account_id, g) for g in self._log_groups(region)
                ],
            ),
            opts,
        )
        data_key = key.arn if cfg.kms is KmsMode.CUSTOMER_MANAGED else None
        notifications = Notifications(
            f"{code}-notify",
            NotificationsArgs(
                region=region,
                alarm_topic_name=cfg.name(NameKind.SNS_TOPIC, "alarms", region),
                deployment_topic_name=(
                    cfg.name(NameKind.SNS_TOPIC, "deployments", region) if cfg.features.migration else None
                ),
                kms_key_arn=key.arn,
                account_id=self.account_id,
                partition=self.partition,
                email=cfg.alarm_email,
            ),
            opts,
        )
        sources = [w for w, on in (("data", cfg.features.compute), ("deploy", cfg.features.migration)) if on]
        logs_bucket = HardenedBucket(
            f"{code}-logs",
            HardenedBucketArgs(
                bucket_name=self._bucket_name("logs", region),
                kms_key_arn=None,  # S3 server access logs cannot be delivered to SSE-KMS buckets
                policy_statements=[
                    iam.log_delivery_statement(
                        self._bucket_arn("logs", region),
                        [self._bucket_arn(w, region) for w in sources],
                        self.account_id,
                    )
                ],
            ),
            opts,
        )
        built = _Region(key=key, notifications=notifications, logs=logs_bucket)
        if cfg.features.compute:
            self._foundation(region, built, data_key, opts)
        if cfg.features.migration:
            self._migration(region, built, data_key, opts)
        return built

    def _foundation(self, region: str, built: _Region, data_key: Any, opts: pulumi.ResourceOptions) -> None:
        cfg = self.cfg
        code = region_code(region)
        built.network = Network(
            f"{code}-net",
            NetworkArgs(
                region=region,
                vpc_cidr=cfg.vpc_cidrs[region],
                az_count=cfg.az_count,
                nat_strategy=cfg.nat_strategy,
                flow_log_group_name=cfg.log_group("flowlogs", region),
                flow_log_role_name=cfg.name(NameKind.IAM_ROLE, "flowlogs", region),
                log_retention_days=cfg.log_retention_days,
                log_key_arn=built.key.arn,
                account_id=self.account_id,
                partition=self.partition,
                endpoint_bucket_arns=[
                    self._bucket_arn(w, region) for w, on in (("data", True), ("deploy", cfg.features.migration)) if on
                ],
                endpoint_security_group_name=cfg.name(NameKind.SECURITY_GROUP, "endpoints", region),
                interface_services=endpoints.interface_services(
                    instances=cfg.nat_strategy is NatStrategy.NONE, function=cfg.migration_in_vpc
                ),
                function_bucket_arn=self._bucket_arn("deploy", region) if cfg.migration_in_vpc else None,
            ),
            opts,
        )
        built.data = HardenedBucket(
            f"{code}-data",
            HardenedBucketArgs(
                bucket_name=self._bucket_name("data", region),
                kms_key_arn=data_key,
                access_log_bucket=built.logs,
                event_notifications=True,
            ),
            opts,
        )
        built.compute = Compute(
            f"{code}-app",
            ComputeArgs(
                region=region,
                vpc_id=built.network.vpc_id,
                private_subnet_ids=built.network.private_subnet_ids,
                instance_type=cfg.instance_type,
                min_size=cfg.asg_min_size,
                desired_capacity=cfg.asg_desired_capacity,
                max_size=cfg.asg_max_size,
                health_check_grace_period=cfg.health_check_grace_period_seconds,
                data_bucket_arn=built.data.arn,
                kms_key_arn=data_key,
                log_group_name=cfg.log_group("app", region),
                log_retention_days=cfg.log_retention_days,
                log_key_arn=built.key.arn,
                metric_namespace=f"TapStack/{cfg.environment_suffix}",
                role_name=cfg.name(NameKind.IAM_ROLE, "instance", region),
                profile_name=cfg.name(NameKind.INSTANCE_PROFILE, "instance", region),
                security_group_name=cfg.name(NameKind.SECURITY_GROUP, "app", region),
                launch_template_name=cfg.name(NameKind.LAUNCH_TEMPLATE, "app", region),
                asg_name=cfg.name(NameKind.ASG, "app", region),
                account_id=self.account_id,
                partition=self.partition,
                deployment_bucket_name=self._bucket_name("deploy", region) if cfg.features.migration else None,
                deployment_bucket_arn=self._bucket_arn("deploy", region) if cfg.features.migration else None,
                instance_types=cfg.instance_types,
                ami_id=cfg.ami_ids.get(region),
                tags=default_tags(cfg.project, cfg.environment_suffix, region, cfg.tags),
            ),
            opts,
        )
        ComputeAlarms(
            f"{code}-app-alarms",
            ComputeAlarmsArgs(
                asg_name=built.compute.asg_name,
                min_in_service=cfg.asg_min_size,
                topic_arn=built.notifications.alarm_topic.arn,
                names={k: cfg.name(NameKind.ALARM, k, region) for k in ("cpu-high", "cpu-low", "in-service-low")},
            ),
            opts,
        )

    def _migration(self, region: str, built: _Region, data_key: Any, opts: pulumi.ResourceOptions) -> None:
        cfg = self.cfg
        code = region_code(region)
        is_primary = region == cfg.primary_region
        built.deploy = HardenedBucket(
            f"{code}-deploy",
            HardenedBucketArgs(
                bucket_name=self._bucket_name("deploy", region),
                kms_key_arn=data_key,
                access_log_bucket=built.logs,
                event_notifications=True,
                object_lock_days=cfg.deployment_object_lock_days,
            ),
            opts,
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
        assert self.token is not None
        built.secrets = MigrationSecrets(
            f"{code}-secrets",
            MigrationSecretsArgs(
                parameter_name=cfg.parameter(f"{code}/{CONFIG_PARAMETER}"),
                parameter_value=json.dumps(settings, sort_keys=True),
                secret_name=cfg.name(NameKind.SECRET, "migration-token", region),
                secret_value=self.token,
                kms_key_arn=data_key,
                recovery_window_days=cfg.secret_recovery_window_days,
                account_id=self.account_id,
                partition=self.partition,
                reader_role_arns=[self._role_arn(cfg.name(NameKind.IAM_ROLE, "migration", region))],
                rotation_role_arn=self._role_arn(cfg.name(NameKind.IAM_ROLE, "rotation", region)),
                administrator_arns=self.deployer_arns,
            ),
            opts,
        )
        built.rotation = TokenRotation(
            f"{code}-rotation",
            TokenRotationArgs(
                region=region,
                secret=built.secrets,
                function_name=cfg.name(NameKind.LAMBDA, "rotation", region),
                role_name=cfg.name(NameKind.IAM_ROLE, "rotation", region),
                log_group_name=lambda_log_group_name(cfg.name(NameKind.LAMBDA, "rotation", region)),
                log_retention_days=cfg.log_retention_days,
                log_key_arn=built.key.arn,
                kms_key_arn=data_key,
                account_id=self.account_id,
                rotation_days=cfg.secret_rotation_days,
            ),
            opts,
        )
        topic = built.notifications.deployment_topic
        assert topic is not None
        built.function = MigrationFunction(
            f"{code}-migration",
            MigrationFunctionArgs(
                region=region,
                is_primary=is_primary,
                function_name=cfg.name(NameKind.LAMBDA, "migration", region),
                role_name=cfg.name(NameKind.IAM_ROLE, "migration", region),
                log_retention_days=cfg.log_retention_days,
                bucket_name=built.deploy.name,
                bucket_arn=built.deploy.arn,
                parameter_name=built.secrets.parameter.name,
                parameter_arn=built.secrets.parameter_arn,
                secret_arn=built.secrets.secret_arn,
                deployment_topic_arn=topic.arn,
                alarm_topic_arn=built.notifications.alarm_topic.arn,
                kms_key_arn=data_key,
                replica_bucket_names=(
                    [self._bucket_name("deploy", r) for r in cfg.secondary_regions] if is_primary else []
                ),
                alarm_names={
                    k: cfg.name(NameKind.ALARM, k, region)
                    for k in ("lambda-errors", "lambda-throttles", "failed-replies", "dead-letters")
                },
                metric_namespace=f"TapStack/{cfg.environment_suffix}",
                account_id=self.account_id,
                asg_name=cfg.name(NameKind.ASG, "app", region) if cfg.features.compute else "",
                fleet_grace_seconds=cfg.health_check_grace_period_seconds,
                region_key_arn=built.key.arn,
                dead_letter_queue_name=cfg.name(NameKind.SQS_QUEUE, "migration-dlq", region),
                reserved_concurrency=cfg.migration_reserved_concurrency,
                vpc=self._function_vpc(region, built),
            ),
            opts,
        )

    def _function_vpc(self, region: str, built: _Region) -> FunctionVpc | None:
        """The region's private subnets, with ``migrationInVpc`` (config refuses it without compute)."""
        if not self.cfg.migration_in_vpc:
            return None
        network = built.network
        assert network is not None
        return FunctionVpc(
            vpc_id=network.vpc_id,
            vpc_cidr=self.cfg.vpc_cidrs[region],
            subnet_ids=network.private_subnet_ids,
            subnet_arns=[s.arn for s in network.private_subnets],
            s3_prefix_list_id=network.s3_prefix_list_id,
            security_group_name=self.cfg.name(NameKind.SECURITY_GROUP, "migration", region),
            partition=self.partition,
        )

    def _replicate(self) -> Replication:
        cfg = self.cfg
        primary = self.regions[cfg.primary_region]
        assert primary.deploy is not None
        kms = cfg.kms is KmsMode.CUSTOMER_MANAGED
        targets = []
        for region in cfg.secondary_regions:
            bucket = self.regions[region].deploy
            assert bucket is not None
            alarms = ReplicaAlarms(
                provider=self.providers.get(region),
                topic_arn=self.regions[region].notifications.alarm_topic.arn,
                latency_alarm_name=cfg.name(NameKind.ALARM, "replication-latency", region),
                failed_alarm_name=cfg.name(
                    NameKind.ALARM, f"replication-failed-{region_code(region)}", cfg.primary_region
                ),
            )
            targets.append(ReplicaTarget(region, bucket, self.regions[region].key.arn if kms else None, alarms))
        return Replication(
            f"{region_code(cfg.primary_region)}-replication",
            ReplicationArgs(
                primary_region=cfg.primary_region,
                source=primary.deploy,
                source_kms_key_arn=primary.key.arn if kms else None,
                targets=targets,
                role_name=cfg.name(NameKind.IAM_ROLE, "replication", cfg.primary_region),
                account_id=self.account_id,
                alarm_topic_arn=primary.notifications.alarm_topic.arn,
            ),
            pulumi.ResourceOptions(parent=self, provider=self.providers.get(cfg.primary_region)),
        )

    def _exports(self) -> dict[str, Any]:
        """Flat, region-prefixed outputs (``use1_vpc_id``): easy to read from scripts and tests."""
        out: dict[str, Any] = {"primary_region": self.cfg.primary_region, "regions": list(self.cfg.regions)}
        for region, built in self.regions.items():
            p = region_code(region) + "_"
            out[p + "kms_key_arn"] = built.key.arn
            out[p + "alarm_topic_arn"] = built.notifications.alarm_topic.arn
            out[p + "log_bucket"] = built.logs.name
            if built.network is not None and built.data is not None and built.compute is not None:
                out[p + "vpc_id"] = built.network.vpc_id
                out[p + "public_subnet_ids"] = built.network.public_subnet_ids
                out[p + "private_subnet_ids"] = built.network.private_subnet_ids
                out[p + "nat_gateway_ids"] = [n.id for n in built.network.nat_gateways]
                out[p + "flow_log_group"] = built.network.flow_log_group.name
                out[p + "app_log_group"] = built.compute.log_group.name
                out[p + "data_bucket"] = built.data.name
                out[p + "asg_name"] = built.compute.asg_name
                out[p + "instance_role_arn"] = built.compute.role.arn
                out[p + "ami_id"] = built.compute.ami_id
            if built.deploy is not None and built.secrets is not None and built.function is not None:
                topic = built.notifications.deployment_topic
                assert topic is not None
                out[p + "deployment_bucket"] = built.deploy.name
                out[p + "config_parameter"] = built.secrets.parameter.name
                out[p + "secret_arn"] = built.secrets.secret_arn  # an ARN names the secret; it is not its value
                out[p + "deployment_topic_arn"] = topic.arn
                out[p + "function_name"] = built.function.function.name
                out[p + "function_arn"] = built.function.function.arn
                out[p + "migration_role_arn"] = built.function.role.arn
                out[p + "migration_log_group"] = built.function.log_group.name
                out[p + "dead_letter_queue_url"] = built.function.dead_letter_queue.url
            if built.rotation is not None:
                out[p + "rotation_function_name"] = built.rotation.function.name
                out[p + "rotation_role_arn"] = built.rotation.role.arn
        if self.replication is not None:
            out["replication_role_arn"] = self.replication.role.arn
        return out
