"""Private application instances: launch template + Auto Scaling Group, reached through SSM, never SSH."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..agent.userdata import packed_user_data
from ..lib import endpoints, iam
from ..lib.instance_types import ami_parameter, architecture
from .base import RegionalComponent

AMI_PARAMETER_TAG = "AmiParameter"
"""Launch template tag naming the SSM parameter its AMI came from: what TAP005 reads the AMI's architecture from."""
SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore"
REFRESH_MIN_HEALTHY_PERCENTAGE = 100
REFRESH_MAX_HEALTHY_PERCENTAGE = 200
"""An instance refresh launches each replacement before it terminates the instance it replaces: with a minimum
of 100 % Auto Scaling may never go below the desired capacity, and a maximum of 200 % (the most AWS allows, with
max - min <= 100) lets it launch a whole second set first: the Auto Scaling User Guide's "Launch before
terminating" ("Instance maintenance policy overview"). Unset, the maximum is 100 % (pulumi-aws
GroupInstanceRefreshPreferences: "defaults to 100"), so nothing can be launched first: the earlier 90 % with that
default terminated before launching, and a group of one (the default size) served nothing during every template
change."""


@dataclass
class ComputeArgs:
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    instance_type: str
    min_size: int
    desired_capacity: int
    max_size: int
    health_check_grace_period: int
    data_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    log_group_name: str
    log_retention_days: int
    metric_namespace: str
    role_name: str
    profile_name: str
    security_group_name: str
    launch_template_name: str
    asg_name: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    deployment_bucket_name: pulumi.Input[str] | None = None
    """The region's deployment bucket, when the migration platform is on: the agent follows its releases."""
    deployment_bucket_arn: pulumi.Input[str] | None = None
    instance_types: Sequence[str] = ()
    """When set: a mixed instances policy launching these types, in priority order (one architecture)."""
    ami_id: str | None = None
    """The operator's pinned AMI; None: the latest Amazon Linux 2023 AMI of the type's architecture, kept."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """The stack's tags: provider default tags never reach instances and volumes a group launches."""
    log_key_arn: pulumi.Input[str] | None = None
    """The region key that encrypts the app log group (its key policy admits CloudWatch Logs for it)."""


def user_data(region: str, bucket: str) -> str:
    """The launch template's user data: cloud-init that installs the release agent for this region's bucket."""
    return base64.b64encode(packed_user_data(region=region, bucket=bucket)).decode()


class Compute(RegionalComponent):
    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:compute:Compute", name, opts)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=args.security_group_name,
            description="TapStack app instances: no inbound; HTTPS out for SSM, S3 and updates",
            vpc_id=args.vpc_id,
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                    description="HTTPS to SSM, S3 and package repositories",
                )
            ],
            opts=self.child(),
        )
        self.log_group = self.add_log_group(
            f"{name}-logs", args.log_group_name, args.log_retention_days, args.log_key_arn
        )
        self.role = self.add_service_role(f"{name}-role", args.role_name, "ec2.amazonaws.com", args.account_id)
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm-core",
            role=self.role.name,
            policy_arn=pulumi.Output.format("arn:{0}:iam::aws:policy/{1}", args.partition, SSM_CORE_POLICY),
            opts=self.child(),
        )
        if (args.deployment_bucket_name is None) != (args.deployment_bucket_arn is None):
            raise ValueError("deployment_bucket_name and deployment_bucket_arn go together")
        statements = iam.instance_statements(
            args.data_bucket_arn, self.log_group.arn, args.metric_namespace, args.deployment_bucket_arn
        )
        # The managed SSM policy grants no S3: through the gateway endpoint the agent's downloads need the role too.
        statements.append(
            iam.statement(
                "ReadSsmAgentBuckets", ["s3:GetObject"], endpoints.ssm_agent_objects(args.partition, args.region)
            )
        )
        if args.kms_key_arn is not None:
            statements += iam.instance_key_statements(args.kms_key_arn, args.region)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=iam.to_json(statements), opts=self.child()
        )
        self.profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=args.profile_name, role=self.role.name, opts=self.child()
        )
        image_id, template_tags, keep_image = self._ami(args)
        agent = (
            None
            if args.deployment_bucket_name is None
            else pulumi.Output.from_input(args.deployment_bucket_name).apply(lambda b: user_data(args.region, b))
        )
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name=args.launch_template_name,
            image_id=image_id,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=self.profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                # Off: nothing on the instance reads its tags from the metadata service (the agent takes its
                # region and bucket from the user data), and with them on EC2 refuses to launch an instance whose
                # tag keys hold a space or '/' (EC2 User Guide, "View tags for your EC2 instances using instance
                # metadata"): a stack tag such as "cost center" would make every launch of the group fail.
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=20, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0, associate_public_ip_address="false", security_groups=[self.security_group.id]
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=agent,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={**args.tags, "Name": args.asg_name}
                )
                for kind in ("instance", "volume")
            ],
            tags=template_tags or None,
            update_default_version=True,
            opts=self.child(ignore_changes=["imageId"] if keep_image else None),
        )
        version = self.launch_template.latest_version.apply(str)
        self.asg = aws.autoscaling.Group(
            f"{name}-asg",
            name=args.asg_name,
            min_size=args.min_size,
            max_size=args.max_size,
            desired_capacity=args.desired_capacity,
            vpc_zone_identifiers=list(args.private_subnet_ids),
            health_check_type="EC2",
            health_check_grace_period=args.health_check_grace_period,
            launch_template=(
                None
                if args.instance_types
                else aws.autoscaling.GroupLaunchTemplateArgs(id=self.launch_template.id, version=version)
            ),
            mixed_instances_policy=self._mixed(args.instance_types, version),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=REFRESH_MIN_HEALTHY_PERCENTAGE,
                    max_healthy_percentage=REFRESH_MAX_HEALTHY_PERCENTAGE,
                ),
            ),
            enabled_metrics=[
                aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
                aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
                aws.autoscaling.Metric.GROUP_MIN_SIZE,
                aws.autoscaling.Metric.GROUP_MAX_SIZE,
            ],
            metrics_granularity="1Minute",
            tags=[aws.autoscaling.GroupTagArgs(key="Name", value=args.asg_name, propagate_at_launch=True)],
            opts=self.child(depends_on=[self.role_policy]),
        )
        self.asg_name = self.asg.name
        self.ami_id = self.launch_template.image_id
        self.register_outputs(
            {
                "asgName": self.asg.name,
                "launchTemplateId": self.launch_template.id,
                "roleArn": self.role.arn,
                "amiId": self.ami_id,
            }
        )

    def _ami(self, args: ComputeArgs) -> tuple[pulumi.Input[str], dict[str, str], bool]:
        """The image, the template's own tags, and whether later deploys keep the image they find.

        Without a pin the AMI comes from the public Amazon Linux parameter of the instance type's architecture, at
        the first deploy only: the template ignores later changes of it, so a new Amazon Linux release does not
        roll every instance on an unrelated ``pulumi up``. Moving on is the operator's act: pin ``amiIds``.
        """
        if args.ami_id is not None:
            return args.ami_id, {}, False
        parameter = ami_parameter(architecture(args.instance_type))
        value = aws.ssm.get_parameter_output(name=parameter, opts=self.invoke()).value
        return value, {AMI_PARAMETER_TAG: parameter}, True

    def _mixed(
        self, instance_types: Sequence[str], version: pulumi.Output[str]
    ) -> aws.autoscaling.GroupMixedInstancesPolicyArgs | None:
        """All On-Demand, types tried in the configured order: more capacity pools, no Spot interruptions."""
        if not instance_types:
            return None
        return aws.autoscaling.GroupMixedInstancesPolicyArgs(
            launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                    launch_template_id=self.launch_template.id, version=version
                ),
                overrides=[
                    aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                    for t in instance_types
                ],
            ),
            instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                on_demand_allocation_strategy="prioritized",
                on_demand_base_capacity=0,
                on_demand_percentage_above_base_capacity=100,
            ),
        )
