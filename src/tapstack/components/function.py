"""One Lambda function with everything a production function needs, built the same way for every function.

Its own role (only Lambda of this account may assume it), a log group kept ``log_retention_days`` and encrypted
with the region key, X-Ray tracing, a dead-letter queue encrypted with the region key, the environment encrypted
with the region key, and errors / throttles / dead-letter alarms notifying the alarm topic. Reserved concurrency
is opt-in (0: none; a reservation comes out of the account's concurrency quota). A function that lacked one of
these was what scanners (Checkov, Prowler) flagged; building both functions here keeps them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..lib import iam
from ..lib.naming import lambda_log_group_name
from .base import RegionalComponent
from .monitoring import ALARMS

DEAD_LETTER_RETENTION_SECONDS = 1_209_600
"""14 days, SQS's maximum: a failed asynchronous event stays inspectable for two weeks."""


@dataclass
class FunctionVpc:
    """Where the function runs in a VPC: the region's private subnets, reaching AWS only through the VPC's interface
    endpoints (in the VPC's range) and S3's gateway endpoint (S3's prefix list)."""

    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_ids: Sequence[pulumi.Input[str]]
    subnet_arns: Sequence[pulumi.Input[str]]
    s3_prefix_list_id: pulumi.Input[str]
    security_group_name: str
    partition: pulumi.Input[str]


@dataclass(frozen=True)
class FunctionAlarms:
    """The alarm kinds (keys of ``monitoring.ALARMS``, the name catalogue's ``what`` and the runbook's sections)
    of one function."""

    errors: str
    throttles: str
    dead_letters: str


PolicyFn = Callable[[pulumi.Output[str], tuple[pulumi.Output[str], pulumi.Input[str]]], list[iam.Statement]]
"""(log group ARN, (dead-letter queue ARN, its key ARN)) -> the role's statements: exactly the function's calls."""


@dataclass
class FunctionSite:
    """Where a function lives and what its resources are called (the caller's physical names)."""

    region: str
    function_name: str
    role_name: str
    dead_letter_queue_name: str
    alarm_names: Mapping[str, str]
    """Physical alarm names by kind (at least the ``FunctionAlarms`` fields)."""
    log_retention_days: int
    key_arn: pulumi.Input[str]
    """The region key, whatever ``kms`` says: it encrypts the logs, the environment and the dead-letter queue."""
    alarm_topic_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


@dataclass
class LambdaFunctionArgs:
    site: FunctionSite
    purpose: str
    """What the function does, in a few words ("migration"): its descriptions and alarm texts say it."""
    description: str
    handler: str
    code: pulumi.Archive
    policy: PolicyFn
    alarms: FunctionAlarms
    environment: Mapping[str, pulumi.Input[str]] | None = None
    reserved_concurrency: int = 0
    """0: no reservation (the function draws on the account's unreserved pool)."""
    vpc: FunctionVpc | None = None
    """None: the function runs on Lambda's own network (docs/security.md, Lambda.3)."""
    runtime: str = "python3.12"
    timeout_seconds: int = 60
    memory_mb: int = 256


class LambdaFunction(RegionalComponent):
    def __init__(
        self,
        name: str,
        args: LambdaFunctionArgs,
        opts: pulumi.ResourceOptions | None = None,
        moved_from: pulumi.Resource | None = None,
    ) -> None:
        """``moved_from``: the component whose children these resources were, so that they keep their URNs."""
        self._moved = [pulumi.Alias(parent=moved_from)] if moved_from is not None else None
        super().__init__("tapstack:function:LambdaFunction", name, opts)
        site = args.site
        child = self.child
        self.log_group = self.add_log_group(
            f"{name}-logs", lambda_log_group_name(site.function_name), site.log_retention_days, site.key_arn
        )
        # Where Lambda puts an asynchronous invocation that failed every retry (an event never lost in silence).
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=site.dead_letter_queue_name,
            kms_master_key_id=site.key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            opts=child(),
        )
        self.role = self.add_service_role(f"{name}-role", site.role_name, "lambda.amazonaws.com", site.account_id)
        statements = args.policy(self.log_group.arn, (self.dead_letter_queue.arn, site.key_arn))
        self.security_group: aws.ec2.SecurityGroup | None = None
        vpc_config = None
        if args.vpc is not None:
            self.security_group = self._security_group(name, args.purpose, args.vpc, child())
            statements += iam.function_network_statements(
                partition=args.vpc.partition,
                region=site.region,
                account_id=site.account_id,
                subnet_arns=args.vpc.subnet_arns,
                security_group_arn=self.security_group.arn,
            )
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.vpc.subnet_ids), security_group_ids=[self.security_group.id]
            )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=iam.to_json(statements), opts=child()
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=site.function_name,
            description=args.description,
            runtime=args.runtime,
            handler=args.handler,
            code=args.code,
            role=self.role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            architectures=["arm64"],
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            reserved_concurrent_executions=args.reserved_concurrency or None,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dead_letter_queue.arn),
            kms_key_arn=site.key_arn,
            vpc_config=vpc_config,
            environment=(
                aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
                if args.environment is not None
                else None
            ),
            opts=child(depends_on=[self.log_group, self.role_policy]),
        )
        on_function = {"FunctionName": self.function.name}
        kinds = args.alarms
        self.alarms = [
            ALARMS[kind].alarm(
                f"{name}-{suffix}",
                site.alarm_names[kind],
                site.alarm_topic_arn,
                child(),
                dimensions,
                purpose=args.purpose,
            )
            for kind, suffix, dimensions in (
                (kinds.errors, "errors", on_function),
                (kinds.throttles, "throttles", on_function),
                (kinds.dead_letters, "dead-letters", {"QueueName": self.dead_letter_queue.name}),
            )
        ]
        self.summary: dict[str, pulumi.Input[str] | None] = {
            "functionName": self.function.name,
            "functionArn": self.function.arn,
            "roleArn": self.role.arn,
            "deadLetterQueueUrl": self.dead_letter_queue.url,
            "securityGroupId": self.security_group.id if self.security_group is not None else None,
        }
        """The outputs that matter, for the component built on this one to register as its own."""
        self.register_outputs(self.summary)

    def child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a child, aliased to the URN it had as a child of ``moved_from``."""
        return super().child(aliases=self._moved, **kwargs)

    @staticmethod
    def _security_group(
        name: str, purpose: str, vpc: FunctionVpc, opts: pulumi.ResourceOptions
    ) -> aws.ec2.SecurityGroup:
        """Nothing comes in (Lambda invokes the function through its own service, not the interface); HTTPS goes
        out to the VPC's interface endpoints and to S3 through the gateway endpoint, nowhere else: even with a NAT
        route in the subnets, the function cannot reach the internet."""
        return aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=vpc.security_group_name,
            description=f"TapStack {purpose} function: HTTPS to the VPC's endpoints only",
            vpc_id=vpc.vpc_id,
            ingress=[],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[vpc.vpc_cidr],
                    description="HTTPS to the interface endpoints",
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[vpc.s3_prefix_list_id],
                    description="HTTPS to S3 through the gateway endpoint",
                ),
            ],
            opts=opts,
        )
