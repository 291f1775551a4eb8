"""TapStack: per region its components (base, foundation A, migration platform B), then replication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .components.replication import ReplicaAlarms, ReplicaTarget, Replication, ReplicationArgs
from .config import KmsMode, StackConfig
from .lib import iam, names
from .lib.regions import region_code
from .providers import ProviderManager
from .region import (
    Account,
    Foundation,
    FoundationArgs,
    MigrationPlatform,
    MigrationPlatformArgs,
    RegionBase,
    RegionBaseArgs,
)


@dataclass
class TapStackArgs:
    config: StackConfig
    migration_token: pulumi.Input[str] | None


@dataclass
class _Region:
    """What one region built, for replication and exports."""

    base: RegionBase
    foundation: Foundation | None
    platform: MigrationPlatform | None


class TapStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: TapStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:index:TapStack", name, None, opts)
        cfg = args.config
        self.cfg = cfg
        self.token = args.migration_token
        self.providers = ProviderManager(cfg, parent=self)
        primary = pulumi.InvokeOutputOptions(provider=self.providers.get(cfg.primary_region), parent=self)
        self.account = Account(
            cfg,
            aws.get_caller_identity_output(opts=primary).account_id,
            aws.get_partition_output(opts=primary).partition,
        )
        self.deployer_arns = aws.get_caller_identity_output(opts=primary).arn.apply(iam.principal_arn_patterns)
        self.regions: dict[str, _Region] = {region: self._region(region) for region in cfg.regions}
        self.replication: Replication | None = None
        if cfg.features.migration and cfg.secondary_regions:
            self.replication = self._replicate()
        for built in self.regions.values():
            built.base.key.grant_users(self._key_users(built))
        self.exports = self._exports()
        self.register_outputs({"primaryRegion": cfg.primary_region, "regions": list(cfg.regions)})

    def _region(self, region: str) -> _Region:
        cfg = self.cfg
        code = region_code(region)
        opts = pulumi.ResourceOptions(parent=self, provider=self.providers.get(region))
        base = RegionBase(f"{code}-base", RegionBaseArgs(cfg, region, self.account), opts)
        foundation = None
        if cfg.features.compute:
            foundation = Foundation(f"{code}-foundation", FoundationArgs(cfg, region, self.account, base), opts)
        platform = None
        if cfg.features.migration:
            if self.token is None:
                raise TypeError("the migration platform needs the migration token (config checks it first)")
            platform = MigrationPlatform(
                f"{code}-platform",
                MigrationPlatformArgs(
                    cfg,
                    region,
                    self.account,
                    base,
                    migration_token=self.token,
                    deployer_arns=self.deployer_arns,
                    network=foundation.network if foundation is not None else None,
                ),
                opts,
            )
        return _Region(base, foundation, platform)

    def _key_users(self, built: _Region) -> list[pulumi.Output[str]]:
        """The roles that use a region's key: every role of the region, and the replication role (it decrypts in
        the primary and encrypts, with the bucket key's Decrypt, in every secondary)."""
        roles = []
        if built.foundation is not None:
            roles.append(built.foundation.compute.role.arn)
        if built.platform is not None:
            roles += [built.platform.function.role.arn, built.platform.rotation.role.arn]
        if self.replication is not None:
            roles.append(self.replication.role.arn)
        return roles

    def _replicate(self) -> Replication:
        cfg = self.cfg
        primary = self.regions[cfg.primary_region]
        if primary.platform is None:
            raise TypeError("replication needs the migration platform in the primary region")
        kms = cfg.kms is KmsMode.CUSTOMER_MANAGED
        targets = []
        for region in cfg.secondary_regions:
            built = self.regions[region]
            if built.platform is None:
                raise TypeError(f"replication needs the migration platform in {region}")
            alarms = ReplicaAlarms(
                provider=self.providers.get(region),
                topic_arn=built.base.notifications.alarm_topic.arn,
                latency_alarm_name=cfg.name(names.REPLICATION_LATENCY_ALARM, region),
                failed_alarm_name=cfg.name(names.REPLICATION_FAILED_ALARM, cfg.primary_region, secondary=region),
            )
            targets.append(ReplicaTarget(region, built.platform.deploy, built.base.key.arn if kms else None, alarms))
        return Replication(
            f"{region_code(cfg.primary_region)}-replication",
            ReplicationArgs(
                primary_region=cfg.primary_region,
                source=primary.platform.deploy,
                source_kms_key_arn=primary.base.key.arn if kms else None,
                targets=targets,
                role_name=cfg.name(names.REPLICATION_ROLE, cfg.primary_region),
                account_id=self.account.account_id,
                alarm_topic_arn=primary.base.notifications.alarm_topic.arn,
            ),
            pulumi.ResourceOptions(parent=self, provider=self.providers.get(cfg.primary_region)),
        )

    def _exports(self) -> dict[str, Any]:
        """Flat, region-prefixed outputs (``use1_vpc_id``): easy to read from scripts and tests."""
        out: dict[str, Any] = {"primary_region": self.cfg.primary_region, "regions": list(self.cfg.regions)}
        for region, built in self.regions.items():
            p = region_code(region) + "_"
            base = built.base
            out[p + "kms_key_arn"] = base.key.arn
            out[p + "alarm_topic_arn"] = base.notifications.alarm_topic.arn
            out[p + "log_bucket"] = base.logs.name
            if (a := built.foundation) is not None:
                out[p + "vpc_id"] = a.network.vpc_id
                out[p + "public_subnet_ids"] = a.network.public_subnet_ids
                out[p + "private_subnet_ids"] = a.network.private_subnet_ids
                out[p + "nat_gateway_ids"] = [n.id for n in a.network.nat_gateways]
                out[p + "flow_log_group"] = a.network.flow_log_group.name
                out[p + "app_log_group"] = a.compute.log_group.name
                out[p + "data_bucket"] = a.data.name
                out[p + "asg_name"] = a.compute.asg_name
                out[p + "instance_role_arn"] = a.compute.role.arn
                out[p + "ami_id"] = a.compute.ami_id
            if (b := built.platform) is not None:
                out[p + "deployment_bucket"] = b.deploy.name
                out[p + "config_parameter"] = b.secrets.parameter.name
                out[p + "secret_arn"] = b.secrets.secret_arn  # an ARN names the secret; it is not its value
                out[p + "deployment_topic_arn"] = b.deployment_topic.arn
                out[p + "function_name"] = b.function.function.name
                out[p + "function_arn"] = b.function.function.arn
                out[p + "migration_role_arn"] = b.function.role.arn
                out[p + "migration_log_group"] = b.function.log_group.name
                out[p + "dead_letter_queue_url"] = b.function.dead_letter_queue.url
                out[p + "rotation_function_name"] = b.rotation.function.name
                out[p + "rotation_role_arn"] = b.rotation.role.arn
        if self.replication is not None:
            out["replication_role_arn"] = self.replication.role.arn
        return out
