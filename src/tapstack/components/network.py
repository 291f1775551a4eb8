"""The VPC of one region: tiers of subnets, NAT per strategy, flow logs, NACLs, an empty default SG and default
NACL, a fenced S3 gateway endpoint, and the interface endpoints private instances (without NAT) and the migration
function (in the VPC) need."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..config import NatStrategy
from ..lib import endpoints, iam
from ..lib.cidr import plan_subnets
from ..lib.nacl import NaclRule, Tier, nacl_rules
from .base import RegionalComponent


@dataclass
class NetworkArgs:
    region: str
    vpc_cidr: str
    az_count: int
    nat_strategy: NatStrategy
    flow_log_group_name: str
    flow_log_role_name: str
    log_retention_days: int
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    endpoint_bucket_arns: Sequence[pulumi.Input[str]] = ()
    """The stack's buckets of this region that principals inside the VPC use: the only ones (with the Amazon Linux
    repositories) the S3 gateway endpoint lets through."""
    endpoint_security_group_name: str = ""
    """Needed when ``interface_services`` is not empty."""
    interface_services: Sequence[str] = ()
    """One interface endpoint per service, shared by everything in the VPC (``endpoints.interface_services``):
    Session Manager and the release agent without a NAT route, the migration function with ``migrationInVpc``."""
    function_bucket_arn: pulumi.Input[str] | None = None
    """The deployment bucket, when the migration function runs in this VPC: the S3 endpoint then also lets its
    ``validate`` read the bucket's versioning, encryption and replication configuration."""
    log_key_arn: pulumi.Input[str] | None = None
    """The region key that encrypts the flow-log group (its key policy admits CloudWatch Logs for it)."""


def _pick_az(names: Sequence[str], index: int, region: str) -> str:
    if index >= len(names):
        raise ValueError(f"{region} has {len(names)} available AZs; azCount asks for at least {index + 1}")
    return names[index]


class Network(RegionalComponent):
    """Default posture: one NAT gateway per AZ, so losing an AZ never cuts the others off."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:network:Network", name, opts)
        plan = plan_subnets(args.vpc_cidr, args.az_count)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=self.child(),
        )
        azs = aws.get_availability_zones_output(state="available", opts=self.invoke())
        self.igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=self.child()
        )
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        for i in range(args.az_count):
            az = azs.names.apply(functools.partial(_pick_az, index=i, region=args.region))
            self.public_subnets.append(self._subnet(name, Tier.PUBLIC, i, plan.public[i], az))
            self.private_subnets.append(self._subnet(name, Tier.PRIVATE, i, plan.private[i], az))
        self._public_routes(name)
        self.nat_gateways = self._nat_gateways(name, args.nat_strategy)
        self.private_route_tables = self._private_routes(name, args.nat_strategy)
        self._flow_logs(name, args)
        self._nacls(name, args.vpc_cidr)
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, tags={"Name": f"{name}-default-sg-empty"}, opts=self.child()
        )
        # Unattached (every subnet is in a tier NACL) but allow-all as AWS creates it: a subnet added later, by
        # hand or by another tool, would land in it. Adopted with no rules, it denies everything instead.
        self.default_network_acl = aws.ec2.DefaultNetworkAcl(
            f"{name}-default-nacl",
            default_network_acl_id=self.vpc.default_network_acl_id,
            tags={"Name": f"{name}-default-nacl-empty"},
            opts=self.child(),
        )
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=endpoints.service_name(args.region, "s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in self.private_route_tables],
            policy=endpoints.s3_endpoint_policy(
                args.endpoint_bucket_arns, args.partition, args.region, args.function_bucket_arn
            ),
            tags={"Name": f"{name}-s3"},
            opts=self.child(),
        )
        self.interface_endpoints = self._interface_endpoints(name, args) if args.interface_services else []
        self.vpc_id = self.vpc.id
        # S3's address ranges in this region: a security group that sends to S3 through the gateway endpoint must
        # allow them (the packets go to S3's public addresses, not to the endpoint).
        self.s3_prefix_list_id = self.s3_endpoint.prefix_list_id
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "natGatewayIds": [n.id for n in self.nat_gateways],
                "flowLogId": self.flow_log.id,
                "s3EndpointId": self.s3_endpoint.id,
                "interfaceEndpointIds": [e.id for e in self.interface_endpoints],
            }
        )

    def _interface_endpoints(self, name: str, args: NetworkArgs) -> list[aws.ec2.VpcEndpoint]:
        """One endpoint per service in every private subnet, private DNS on, so the SSM Agent and boto3 (the agent's
        and the migration function's) reach the usual regional host names without a route to the internet. The
        group admits HTTPS from the VPC only and sends nothing (a group is stateful: replies need no egress rule)."""
        if not args.endpoint_security_group_name:
            raise ValueError("interface endpoints need endpoint_security_group_name")
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            name=args.endpoint_security_group_name,
            description="TapStack interface endpoints: HTTPS from inside the VPC only",
            vpc_id=self.vpc.id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.vpc_cidr],
                    description="HTTPS from the VPC",
                )
            ],
            egress=[],
            opts=self.child(),
        )
        return [
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=self.vpc.id,
                service_name=endpoints.service_name(args.region, service),
                vpc_endpoint_type="Interface",
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[self.endpoint_security_group.id],
                private_dns_enabled=True,
                tags={"Name": f"{name}-{service}"},
                opts=self.child(),
            )
            for service in args.interface_services
        ]

    def _subnet(self, name: str, tier: Tier, index: int, cidr: str, az: pulumi.Input[str]) -> aws.ec2.Subnet:
        """No subnet maps public IPs: even the public tier only holds NAT gateways with their own EIPs."""
        return aws.ec2.Subnet(
            f"{name}-{tier.value}-{index}",
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=az,
            map_public_ip_on_launch=False,
            tags={"Name": f"{name}-{tier.value}-{index}", "Tier": tier.value},
            opts=self.child(),
        )

    def _public_routes(self, name: str) -> None:
        self.public_route_table = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}, opts=self.child()
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=self.public_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.igw.id,
            opts=self.child(),
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=self.public_route_table.id,
                opts=self.child(),
            )

    def _nat_gateways(self, name: str, strategy: NatStrategy) -> list[aws.ec2.NatGateway]:
        count = {NatStrategy.NONE: 0, NatStrategy.SINGLE: 1, NatStrategy.PER_AZ: len(self.public_subnets)}[strategy]
        gateways = []
        for i in range(count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}-eip", domain="vpc", tags={"Name": f"{name}-nat-{i}"}, opts=self.child())
            gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[i].id,
                    connectivity_type="public",
                    tags={"Name": f"{name}-nat-{i}"},
                    opts=self.child(depends_on=[self.igw]),
                )
            )
        return gateways

    def _private_routes(self, name: str, strategy: NatStrategy) -> list[aws.ec2.RouteTable]:
        """per_az: a table per AZ through its own NAT; single: one table through the shared NAT; none: no route out."""
        tables_needed = len(self.private_subnets) if strategy is NatStrategy.PER_AZ else 1
        tables = []
        for t in range(tables_needed):
            table = aws.ec2.RouteTable(
                f"{name}-private-rt-{t}", vpc_id=self.vpc.id, tags={"Name": f"{name}-private-{t}"}, opts=self.child()
            )
            if self.nat_gateways:
                aws.ec2.Route(
                    f"{name}-private-{t}-default",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=self.nat_gateways[t].id,
                    opts=self.child(),
                )
            tables.append(table)
        for i, subnet in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=tables[i if len(tables) > 1 else 0].id,
                opts=self.child(),
            )
        return tables

    def _flow_logs(self, name: str, args: NetworkArgs) -> None:
        self.flow_log_group = self.add_log_group(
            f"{name}-flow-logs", args.flow_log_group_name, args.log_retention_days, args.log_key_arn
        )
        role = self.add_service_role(
            f"{name}-flow-logs-role",
            args.flow_log_role_name,
            iam.FLOW_LOGS,
            args.account_id,
            iam.source_arn_pattern(iam.FLOW_LOGS, args.partition, args.region, args.account_id),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=iam.to_json(iam.flow_log_statements(self.flow_log_group.arn)),
            opts=self.child(),
        )
        self.flow_log_role = role
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name}-flow-log"},
            opts=self.child(depends_on=[policy]),
        )

    def _nacls(self, name: str, vpc_cidr: str) -> None:
        self.nacls: dict[Tier, aws.ec2.NetworkAcl] = {}
        for tier, subnets in ((Tier.PUBLIC, self.public_subnets), (Tier.PRIVATE, self.private_subnets)):
            acl = aws.ec2.NetworkAcl(
                f"{name}-{tier.value}-nacl",
                vpc_id=self.vpc.id,
                subnet_ids=[s.id for s in subnets],
                tags={"Name": f"{name}-{tier.value}", "Tier": tier.value},
                opts=self.child(),
            )
            for rule in nacl_rules(tier, vpc_cidr):
                self._nacl_rule(f"{name}-{tier.value}-nacl-{rule.slug}", acl, rule)
            self.nacls[tier] = acl

    def _nacl_rule(self, resource_name: str, acl: aws.ec2.NetworkAcl, rule: NaclRule) -> None:
        aws.ec2.NetworkAclRule(
            resource_name,
            network_acl_id=acl.id,
            rule_number=rule.number,
            egress=rule.egress,
            protocol=rule.protocol,
            rule_action=rule.action,
            cidr_block=rule.cidr,
            from_port=rule.ports[0],
            to_port=rule.ports[1],
            opts=self.child(),
        )
