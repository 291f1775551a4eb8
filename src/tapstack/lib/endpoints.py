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

INTERFACE_SERVICES: tuple[str, ...] = SESSION_MANAGER_SERVICES + AGENT_SERVICES


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def repository_objects(partition: Any, region: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:{0}:s3:::{1}/*", partition, AL2023_REPOSITORY_BUCKET.format(region=region))


def s3_endpoint_policy(bucket_arns: Sequence[Any], partition: Any, region: str) -> pulumi.Output[str]:
    """Only the stack's own buckets of this region, plus read access to the Amazon Linux repositories.

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
    ]
    return iam.to_json(statements)
