"""What the private subnets may reach without a NAT gateway: the S3 gateway endpoint's policy and the
interface endpoints Session Manager and the release agent need.

Pure data and document builders; components/network.py creates the endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from . import iam

AL2023_REPOSITORY_BUCKET = "al2023-repos-{region}-de612dc2"
"""The bucket of each region that serves the Amazon Linux 2023 package repositories (``dnf`` reaches it through
the S3 gateway endpoint: the user data installs python3-boto3 from it). The name is the one the AL2023 User
Guide gives for restrictive S3 endpoint policies (``arn:aws:s3:::al2023-repos-<region>-de612dc2/*``) and the one
``dnf repolist -v`` shows on an instance."""

SSM_AGENT_BUCKETS: tuple[str, ...] = ("amazon-ssm-{region}", "aws-ssm-{region}", "patch-baseline-snapshot-{region}")
"""The AWS-managed buckets of each region the SSM Agent reads on Linux instances (Systems Manager User Guide, "SSM
Agent communications with AWS managed S3 buckets"): agent updates (``amazon-ssm-``), documents and plugins such as
Run Command's (``aws-ssm-``) and Patch Manager's baseline snapshots (``patch-baseline-snapshot-``). From the private
subnets the agent reaches them through the S3 gateway endpoint, so its policy and the instance role must both allow
them; the agent only downloads from them (``s3:GetObject``). Not listed: the Windows-only, macOS-only and
Distributor buckets of the same table, which nothing here uses."""

STACK_BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
)
"""Every S3 action a principal inside the VPC takes on the stack's buckets (the instance role: data bucket
read/write and list, release pointer and artifacts by version, its own heartbeat); IAM then narrows each
role to its own keys. A new in-VPC use of another action must be added here, or the endpoint refuses it."""

SESSION_MANAGER_SERVICES: tuple[str, ...] = ("ssm", "ssmmessages", "ec2messages")
"""The SSM Agent registers with ``ssm``, polls ``ec2messages`` and carries sessions over ``ssmmessages``
(Systems Manager User Guide, "Use VPC endpoints ... for EC2 instances without internet access")."""

AGENT_SERVICES: tuple[str, ...] = ("sts",)
"""The release agent names its heartbeat after ``sts:GetCallerIdentity`` (regional endpoint). Nothing on the
instances sends CloudWatch Logs or metrics today, so ``logs`` and ``monitoring`` endpoints (about USD 7 a month
per AZ each) are not created; add them here when an agent starts shipping either."""

INSTANCE_SERVICES: tuple[str, ...] = SESSION_MANAGER_SERVICES + AGENT_SERVICES
"""What private instances need without a NAT route."""

FUNCTION_SERVICES: tuple[str, ...] = ("ssm", "secretsmanager", "sns", "autoscaling", "ec2")
"""What the migration function calls besides S3 (``handler/services.py``: config parameter, token, deployment
topic, the fleet check's group and instances) when it runs in the VPC (``migrationInVpc``). Not needed: ``sts``
(the handler never calls it; Lambda hands the role's credentials to the function), ``logs`` and ``xray`` (Lambda
ships the function's logs and its Active-tracing segment itself, outside the function's network interfaces; the
handler uses no X-Ray SDK), ``kms`` (the handler never calls KMS: S3, SSM, Secrets Manager and SNS decrypt
server-side, and Lambda decrypts the environment before the handler starts) and ``sqs`` (Lambda, not the
function, writes the dead-letter queue)."""

FUNCTION_BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetReplicationConfiguration",
)
"""The migration function's ``validate`` reads these of its deployment bucket, beyond ``STACK_BUCKET_ACTIONS``:
with the function in the VPC, the S3 endpoint must let them through too (on that bucket only)."""


def interface_services(*, instances: bool, function: bool) -> tuple[str, ...]:
    """The one set of interface endpoints a VPC gets when its instances (no NAT) and/or the migration function
    (in the VPC) need them: each service once, instances' first, so their endpoints keep their names."""
    wanted = (INSTANCE_SERVICES if instances else ()) + (FUNCTION_SERVICES if function else ())
    return tuple(dict.fromkeys(wanted))


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def repository_objects(partition: Any, region: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:{0}:s3:::{1}/*", partition, AL2023_REPOSITORY_BUCKET.format(region=region))


def ssm_agent_objects(partition: Any, region: str) -> list[pulumi.Output[str]]:
    """Every object of the SSM Agent's regional buckets (``SSM_AGENT_BUCKETS``)."""
    return [
        pulumi.Output.format("arn:{0}:s3:::{1}/*", partition, bucket.format(region=region))
        for bucket in SSM_AGENT_BUCKETS
    ]


def s3_endpoint_policy(
    bucket_arns: Sequence[Any], partition: Any, region: str, function_bucket_arn: Any | None = None
) -> pulumi.Output[str]:
    """Only the stack's own buckets of this region, plus read access to the Amazon Linux repositories and the SSM
    Agent's buckets (and, when the migration function runs in the VPC, its ``validate`` reads of the deployment
    bucket's configuration).

    An endpoint policy does not grant anything by itself: it bounds what any principal in the VPC can do through
    the endpoint, so stolen instance credentials (or a compromised app) cannot copy data to a bucket elsewhere.
    """
    if not bucket_arns:
        raise ValueError("the S3 endpoint policy needs at least one of the stack's buckets")
    resources = [r for arn in bucket_arns for r in (arn, iam.objects(arn))]
    statements = [
        iam.statement("StackBuckets", STACK_BUCKET_ACTIONS, resources, principal={"AWS": "*"}),
        iam.statement(
            "AmazonLinuxRepositories", ["s3:GetObject"], [repository_objects(partition, region)], principal={"AWS": "*"}
        ),
        iam.statement(
            "SsmAgentBuckets", ["s3:GetObject"], ssm_agent_objects(partition, region), principal={"AWS": "*"}
        ),
    ]
    if function_bucket_arn is not None:
        statements.append(
            iam.statement(
                "MigrationFunctionInspectsItsBucket",
                FUNCTION_BUCKET_ACTIONS,
                [function_bucket_arn],
                principal={"AWS": "*"},
            )
        )
    return iam.to_json(statements)
