"""The one vocabulary of AWS resource types: what each type token means to synth, the diagram and the guard.

Adding a resource to the program means adding its type here once; synth (the id and attributes a provider
would return), the diagram (the box title, and whether the resource is folded into another one) and TAP008
(which input holds its physical name, its length limit and scope) all read this table. A type the program
registers, or an emulator adapter handles, that is missing here fails a test (tests/golden/test_golden.py,
tests/unit/program/test_graph_types.py) instead of being skipped silently. Pure data and pure functions: no pulumi,
no boto3, so ``check --graph`` and the CrossGuard pack load it for free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .lib.naming import NameKind

ACCOUNT_ID = "123456789012"
"""The account synth pretends to deploy into (ARNs must have one to be checkable)."""
PARTITION = "aws"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ASG = "aws:autoscaling/group:Group"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
BUCKET_OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PARAMETER = "aws:ssm/parameter:Parameter"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
QUEUE = "aws:sqs/queue:Queue"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
IAM_POLICY = "aws:iam/policy:Policy"

# Types the program never registers but the guard judges when a graph file or a CrossGuard preview holds them
# (another program's stack, a seed's bad example): named here so a rule cannot misspell them.
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
VPC_ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
BUCKET_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
BUCKET_ENCRYPTION_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"

# Invoke tokens: the data-source calls the program makes (synth answers them offline, the emulator from moto).
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
GET_PARTITION = "aws:index/getPartition:getPartition"
GET_REGION = "aws:index/getRegion:getRegion"
GET_AVAILABILITY_ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"


def short_type(token: str) -> str:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ``s3:BucketPolicy``: what a reader scans for."""
    _, module, name = token.split(":", 2)
    return f"{module.split('/')[0]}:{name}"


def service(token: str) -> str:
    """``aws:s3/bucket:Bucket`` -> ``s3``."""
    parts = token.split(":")
    return parts[1].split("/")[0] if len(parts) == 3 else parts[0]


GLOBAL_BUCKETS = "s3 (global)"
"""The name namespace buckets share across every region and type (a Bucket and a BucketV2 collide)."""


@dataclass(frozen=True)
class Naming:
    """Which input holds a resource's physical name and what AWS accepts there (TAP008)."""

    prop: str
    kind: NameKind
    regional: bool
    """Regional resources carry their region code; IAM names are global and only need to be unique."""
    path_like: bool = False
    """Log groups, parameters and aliases are ``/``-separated paths of normalized segments."""
    namespace: str | None = None
    """Types sharing one namespace (a bucket and a BucketV2); default: the type itself."""


@dataclass(frozen=True)
class ForcesNew:
    """The inputs the provider cannot change in place: a new value replaces the resource (delete and create).

    pulumi-aws inherits them from the Terraform AWS provider, whose schema marks each one ``ForceNew`` (its
    documentation: "Forces new resource"); ``doc`` is that resource's page (``aws_vpc``). An empty ``props`` is a
    statement too: every input of the type updates in place. Replacements the provider decides by the values
    (an SSM parameter's tier moving down from Advanced) are not modelled.
    """

    doc: str
    props: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/{self.doc[4:]}"


def _forces(doc: str, *props: str) -> ForcesNew:
    return ForcesNew(doc, props)


StateFn = Callable[[str, str, str, str], tuple[str, dict[str, Any]]]
"""(type token, logical name, physical name, region) -> (id, outputs a provider would add to the inputs)."""


@dataclass(frozen=True)
class ResourceType:
    token: str
    title: str | None = None
    """The diagram's box title; None: the short type (``ec2:Eip``)."""
    naming: Naming | None = None
    """How TAP008 reads and judges the physical name; None: the type has no name worth judging."""
    state: StateFn | None = None
    """Synth's fake provider answer; None: id ``<name>-id`` and no attributes beyond the inputs."""
    refines: str | None = None
    """The input naming the resource this one only refines (a route -> its table): the diagram folds it in."""
    serves: bool = False
    """Exists to serve the one resource referencing it (a role, a launch template): folded into that one."""
    replaced_by: ForcesNew | None = None
    """Which input changes replace the resource (``tapstack diff``); None: not stated, which a test refuses for
    every type an example registers."""
    holds: str | None = None
    """The data a resource of this type keeps: replacing or deleting one destroys it (``tapstack diff``, TAP013)."""

    @property
    def short(self) -> str:
        return short_type(self.token)


def _plain(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    return f"{name}-id", {}


def _bucket(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    return phys, {
        "arn": f"arn:{PARTITION}:s3:::{phys}",
        "bucket": phys,
        "bucketDomainName": f"{phys}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{phys}.s3.{region}.amazonaws.com",
        "region": region,
    }


def _iam(kind: str) -> StateFn:
    def state(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
        arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:{kind}/{phys}"
        return phys, {"arn": arn, "name": phys, "uniqueId": f"AROA{name[:8]}"}

    return state


def _arn(service: str, resource: str, *, id_is_arn: bool = False) -> StateFn:
    """A regional resource whose ARN ends in ``resource`` (``{phys}`` is its physical name)."""

    def state(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
        arn = f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{resource.format(phys=phys)}"
        return (arn if id_is_arn else phys), {"arn": arn}

    return state


def _function(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    return phys, {
        "arn": f"arn:{PARTITION}:lambda:{region}:{ACCOUNT_ID}:function:{phys}",
        "invokeArn": f"arn:{PARTITION}:apigateway:{region}:lambda:path/functions/{phys}/invocations",
    }


def _queue(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{phys}"
    return url, {"arn": f"arn:{PARTITION}:sqs:{region}:{ACCOUNT_ID}:{phys}", "url": url, "name": phys}


def _kms_key(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    rid = f"{name}-0000-4000-8000-000000000000"[:36]
    return rid, {"arn": f"arn:{PARTITION}:kms:{region}:{ACCOUNT_ID}:key/{rid}", "keyId": rid}


def _ec2(token: str, name: str, phys: str, region: str) -> tuple[str, dict[str, Any]]:
    """EC2 ids are a type prefix and hex (``vpc-0a1b...``); a VPC also brings its default SG, NACL and table."""
    kind = token.split(":")[1].split("/")[1]
    rid = f"{kind[:6]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    out: dict[str, Any] = {
        "arn": f"arn:{PARTITION}:ec2:{region}:{ACCOUNT_ID}:{kind.lower()}/{rid}",
        "ownerId": ACCOUNT_ID,
    }
    if token == LAUNCH_TEMPLATE:
        out["latestVersion"] = 1
    if token == VPC_ENDPOINT:
        # The provider answers it for gateway endpoints (the service's address ranges); synth cannot tell the
        # endpoint types apart here, and only the S3 gateway endpoint's is ever read.
        out["prefixListId"] = f"pl-{rid.split('-', 1)[1]}"
    if token == VPC:
        out["defaultSecurityGroupId"] = f"sg-default-{rid}"
        out["defaultNetworkAclId"] = f"acl-default-{rid}"
        out["mainRouteTableId"] = f"rtb-main-{rid}"
    return rid, out


def _named(prop: str, kind: NameKind, *, regional: bool = True, path_like: bool = False) -> Naming:
    return Naming(prop, kind, regional=regional, path_like=path_like)


_BUCKET_NAME = Naming("bucket", NameKind.BUCKET, regional=True, namespace=GLOBAL_BUCKETS)

_OBJECTS = "every object and object version in it"
_NAME = ("name", "namePrefix")
_BUCKET_COMPANION = ("bucket", "expectedBucketOwner")

_TYPES = (
    # network
    ResourceType(
        VPC,
        state=_ec2,
        replaced_by=_forces("aws_vpc", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    ),
    ResourceType(
        SUBNET,
        "subnet",
        state=_ec2,
        replaced_by=_forces(
            "aws_subnet",
            "vpcId",
            "cidrBlock",
            "availabilityZone",
            "availabilityZoneId",
            "ipv4IpamPoolId",
            "ipv4NetmaskLength",
            "ipv6Native",
            "outpostArn",
        ),
    ),
    ResourceType(ROUTE_TABLE, "route table", state=_ec2, replaced_by=_forces("aws_route_table", "vpcId")),
    ResourceType(
        ROUTE,
        state=_ec2,
        refines="routeTableId",
        replaced_by=_forces(
            "aws_route", "routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"
        ),
    ),
    ResourceType(
        ROUTE_TABLE_ASSOCIATION,
        state=_ec2,
        refines="subnetId",
        replaced_by=_forces("aws_route_table_association", "subnetId", "gatewayId"),
    ),
    ResourceType(INTERNET_GATEWAY, "internet gateway", state=_ec2, replaced_by=_forces("aws_internet_gateway")),
    ResourceType(
        NAT_GATEWAY,
        "NAT gateway",
        state=_ec2,
        replaced_by=_forces("aws_nat_gateway", "allocationId", "subnetId", "connectivityType", "privateIp"),
    ),
    ResourceType(
        EIP,
        state=_ec2,
        serves=True,
        replaced_by=_forces("aws_eip", "domain", "address", "networkBorderGroup", "publicIpv4Pool"),
    ),
    ResourceType(
        VPC_ENDPOINT,
        state=_ec2,
        refines="vpcId",
        replaced_by=_forces("aws_vpc_endpoint", "vpcId", "serviceName", "vpcEndpointType"),
    ),
    ResourceType(NETWORK_ACL, state=_ec2, refines="vpcId", replaced_by=_forces("aws_network_acl", "vpcId")),
    ResourceType(
        NETWORK_ACL_RULE,
        state=_ec2,
        refines="networkAclId",
        replaced_by=_forces(
            "aws_network_acl_rule",
            "networkAclId",
            "ruleNumber",
            "egress",
            "protocol",
            "ruleAction",
            "cidrBlock",
            "ipv6CidrBlock",
            "fromPort",
            "toPort",
            "icmpType",
            "icmpCode",
        ),
    ),
    ResourceType(
        NETWORK_ACL_ASSOCIATION,
        state=_ec2,
        refines="networkAclId",
        replaced_by=_forces("aws_network_acl_association", "subnetId"),
    ),
    ResourceType(
        DEFAULT_SECURITY_GROUP,
        state=_ec2,
        refines="vpcId",
        replaced_by=_forces("aws_default_security_group", "vpcId"),
    ),
    ResourceType(
        DEFAULT_NETWORK_ACL,
        state=_ec2,
        refines="defaultNetworkAclId",
        replaced_by=_forces("aws_default_network_acl", "defaultNetworkAclId"),
    ),
    ResourceType(
        SECURITY_GROUP,
        naming=_named("name", NameKind.SECURITY_GROUP),
        state=_ec2,
        serves=True,
        replaced_by=_forces("aws_security_group", *_NAME, "description", "vpcId"),
    ),
    ResourceType(
        SECURITY_GROUP_RULE,
        state=_ec2,
        refines="securityGroupId",
        replaced_by=_forces(
            "aws_security_group_rule",
            "securityGroupId",
            "type",
            "protocol",
            "fromPort",
            "toPort",
            "cidrBlocks",
            "ipv6CidrBlocks",
            "prefixListIds",
            "sourceSecurityGroupId",
            "self",
        ),
    ),
    ResourceType(
        SECURITY_GROUP_INGRESS_RULE,
        refines="securityGroupId",
        replaced_by=_forces("aws_vpc_security_group_ingress_rule", "securityGroupId"),
    ),
    ResourceType(
        SECURITY_GROUP_EGRESS_RULE,
        refines="securityGroupId",
        replaced_by=_forces("aws_vpc_security_group_egress_rule", "securityGroupId"),
    ),
    ResourceType(
        FLOW_LOG,
        "VPC flow log",
        state=_ec2,
        replaced_by=_forces(
            "aws_flow_log",
            "vpcId",
            "subnetId",
            "eniId",
            "trafficType",
            "logDestination",
            "logDestinationType",
            "iamRoleArn",
            "logFormat",
            "maxAggregationInterval",
            "destinationOptions",
        ),
    ),
    # compute
    ResourceType(
        LAUNCH_TEMPLATE,
        naming=_named("name", NameKind.LAUNCH_TEMPLATE),
        state=_ec2,
        serves=True,
        replaced_by=_forces("aws_launch_template", *_NAME),
    ),
    ResourceType(
        ASG,
        "Auto Scaling group",
        naming=_named("name", NameKind.ASG),
        state=_arn("autoscaling", "autoScalingGroup:uuid:autoScalingGroupName/{phys}"),
        replaced_by=_forces("aws_autoscaling_group", *_NAME),
    ),
    # logs and alarms
    ResourceType(
        LOG_GROUP,
        "log group",
        naming=_named("name", NameKind.LOG_GROUP, path_like=True),
        state=_arn("logs", "log-group:{phys}"),
        replaced_by=_forces("aws_cloudwatch_log_group", *_NAME, "logGroupClass"),
        holds="every log event in it",
    ),
    ResourceType(
        LOG_METRIC_FILTER,
        refines="logGroupName",
        replaced_by=_forces("aws_cloudwatch_log_metric_filter", "name", "logGroupName"),
    ),
    ResourceType(
        ALARM,
        "CloudWatch alarms",
        naming=_named("name", NameKind.ALARM),
        state=_arn("cloudwatch", "alarm:{phys}"),
        replaced_by=_forces("aws_cloudwatch_metric_alarm", "name"),
    ),
    # storage
    ResourceType(
        BUCKET,
        "S3 bucket",
        naming=_BUCKET_NAME,
        state=_bucket,
        replaced_by=_forces("aws_s3_bucket", "bucket", "bucketPrefix", "objectLockEnabled"),
        holds=_OBJECTS,
    ),
    ResourceType(
        BUCKET_V2,
        naming=_BUCKET_NAME,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket", "bucket", "bucketPrefix", "objectLockEnabled"),
        holds=_OBJECTS,
    ),
    ResourceType(
        BUCKET_VERSIONING,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_versioning", *_BUCKET_COMPANION),
    ),
    ResourceType(
        BUCKET_ENCRYPTION,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_server_side_encryption_configuration", *_BUCKET_COMPANION),
    ),
    ResourceType(
        BUCKET_PUBLIC_ACCESS_BLOCK,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_public_access_block", "bucket"),
    ),
    ResourceType(
        BUCKET_OWNERSHIP_CONTROLS,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_ownership_controls", "bucket"),
    ),
    ResourceType(BUCKET_POLICY, refines="bucket", replaced_by=_forces("aws_s3_bucket_policy", "bucket")),
    ResourceType(
        BUCKET_LIFECYCLE,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_lifecycle_configuration", *_BUCKET_COMPANION),
    ),
    ResourceType(
        BUCKET_LOGGING,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_logging", *_BUCKET_COMPANION),
    ),
    ResourceType(
        BUCKET_REPLICATION,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_replication_configuration", "bucket"),
    ),
    ResourceType(
        BUCKET_NOTIFICATION,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_notification", "bucket"),
    ),
    ResourceType(
        BUCKET_OBJECT_LOCK,
        refines="bucket",
        replaced_by=_forces("aws_s3_bucket_object_lock_configuration", *_BUCKET_COMPANION),
    ),
    # functions, messaging, configuration, keys
    ResourceType(
        FUNCTION,
        "Lambda function",
        naming=_named("name", NameKind.LAMBDA),
        state=_function,
        replaced_by=_forces("aws_lambda_function", "name", "packageType"),
    ),
    ResourceType(
        LAMBDA_PERMISSION,
        refines="function",
        replaced_by=_forces(
            "aws_lambda_permission",
            "action",
            "function",
            "principal",
            "sourceArn",
            "sourceAccount",
            "statementId",
            "statementIdPrefix",
            "qualifier",
            "eventSourceToken",
            "principalOrgId",
            "functionUrlAuthType",
        ),
    ),
    ResourceType(
        TOPIC,
        "SNS topic",
        naming=_named("name", NameKind.SNS_TOPIC),
        state=_arn("sns", "{phys}", id_is_arn=True),
        replaced_by=_forces("aws_sns_topic", *_NAME, "fifoTopic"),
    ),
    ResourceType(TOPIC_POLICY, refines="arn", replaced_by=_forces("aws_sns_topic_policy", "arn")),
    ResourceType(
        TOPIC_SUBSCRIPTION,
        refines="topic",
        replaced_by=_forces("aws_sns_topic_subscription", "topic", "protocol", "endpoint"),
    ),
    ResourceType(
        PARAMETER,
        "SSM parameter",
        naming=_named("name", NameKind.SSM_PARAMETER, path_like=True),
        state=_arn("ssm", "parameter{phys}"),
        replaced_by=_forces("aws_ssm_parameter", "name", "dataType"),
        holds="the parameter's value and its version history",
    ),
    ResourceType(
        SECRET,
        "Secrets Manager secret",
        naming=_named("name", NameKind.SECRET),
        state=_arn("secretsmanager", "secret:{phys}-AbCdEf", id_is_arn=True),
        replaced_by=_forces("aws_secretsmanager_secret", *_NAME),
        holds="the secret's value and every version rotation wrote",
    ),
    ResourceType(
        SECRET_VERSION,
        refines="secretId",
        replaced_by=_forces("aws_secretsmanager_secret_version", "secretId", "secretString", "secretBinary"),
    ),
    ResourceType(
        SECRET_POLICY,
        refines="secretArn",
        replaced_by=_forces("aws_secretsmanager_secret_policy", "secretArn"),
    ),
    ResourceType(
        SECRET_ROTATION,
        refines="secretId",
        replaced_by=_forces("aws_secretsmanager_secret_rotation", "secretId"),
    ),
    ResourceType(
        QUEUE,
        "SQS queue",
        naming=_named("name", NameKind.SQS_QUEUE),
        state=_queue,
        replaced_by=_forces("aws_sqs_queue", *_NAME, "fifoQueue"),
        holds="every message waiting in it",
    ),
    ResourceType(
        KMS_KEY,
        "KMS key",
        state=_kms_key,
        replaced_by=_forces(
            "aws_kms_key", "customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"
        ),
        holds="everything encrypted under it (secrets, parameters, logs, objects): unreadable once the key is gone",
    ),
    ResourceType(
        KMS_ALIAS,
        naming=_named("name", NameKind.KMS_ALIAS, path_like=True),
        refines="targetKeyId",
        replaced_by=_forces("aws_kms_alias", *_NAME),
    ),
    ResourceType(
        KMS_KEY_POLICY,
        refines="keyId",
        replaced_by=_forces("aws_kms_key_policy", "keyId"),
    ),
    # identity
    ResourceType(
        ROLE,
        naming=_named("name", NameKind.IAM_ROLE, regional=False),
        state=_iam("role"),
        serves=True,
        replaced_by=_forces("aws_iam_role", *_NAME, "path"),
    ),
    ResourceType(ROLE_POLICY, refines="role", replaced_by=_forces("aws_iam_role_policy", "role", *_NAME)),
    ResourceType(
        ROLE_POLICY_ATTACHMENT,
        refines="role",
        replaced_by=_forces("aws_iam_role_policy_attachment", "role", "policyArn"),
    ),
    ResourceType(
        INSTANCE_PROFILE,
        naming=_named("name", NameKind.INSTANCE_PROFILE, regional=False),
        state=_iam("instance-profile"),
        serves=True,
        replaced_by=_forces("aws_iam_instance_profile", *_NAME, "path"),
    ),
    ResourceType(
        IAM_POLICY,
        naming=_named("name", NameKind.IAM_POLICY, regional=False),
        state=_iam("policy"),
        replaced_by=_forces("aws_iam_policy", *_NAME, "path", "description"),
    ),
)

TYPES: dict[str, ResourceType] = {t.token: t for t in _TYPES}
"""Type token -> what it means to the tools; every AWS type TapStack registers or emulates is here."""


def lookup(token: str) -> ResourceType | None:
    """The registered type, or None for a type this program never uses (a graph file may hold any type)."""
    return TYPES.get(token)


def title(token: str) -> str:
    """What a reader calls a resource of this type (the diagram's box title)."""
    known = TYPES.get(token)
    return (known.title if known else None) or short_type(token)


def refined_key(token: str) -> str | None:
    """The input naming the resource ``token`` only refines; any S3 bucket companion a graph file may hold
    (``aws:s3/bucketAcl:BucketAcl``) refines its bucket, registered here or not."""
    known = TYPES.get(token)
    if known is not None:
        return known.refines
    return "bucket" if token.startswith("aws:s3/bucket") else None


def fake_state(token: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """(id, outputs) shaped like the real provider's: ARNs in the right form, names from the inputs."""
    known = TYPES.get(token)
    phys = inputs.get("name") or inputs.get("bucket") or name
    rid, out = ((known.state if known else None) or _plain)(token, name, phys, region)
    return rid, {**inputs, **out}
