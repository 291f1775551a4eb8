"""The migration Lambda of one region, its role (exactly its calls), its logs and its alarms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from ..handler.settings import ENV_ASG_NAME, ENV_FLEET_GRACE_SECONDS
from ..lib import iam
from ..lib.contract_files import contract_files
from ..lib.naming import lambda_log_group_name
from .base import RegionalComponent
from .lambda_package import function_archive
from .monitoring import ANY_IN_A_MINUTE, topic_alarm

# The handler answers every failure with a reply instead of raising (callers always get the documented shape),
# so Lambda's own Errors metric only sees crashes and timeouts. Its one-line JSON log per invocation carries the
# status: this filter counts the 5xx replies, and an alarm on that count is what tells a person.
FAILED_REPLIES_PATTERN = '{ ($.event = "invocation") && ($.status >= 500) }'
FAILED_REPLIES_METRIC = "MigrationFailedReplies"
HANDLER_DIR = Path(__file__).resolve().parent.parent / "handler"
HANDLER_PACKAGE = "handler"
RUNTIME = "python3.12"


HANDLER_SERVICES = ("autoscaling", "ec2", "s3", "secretsmanager", "sns", "ssm")
"""The AWS services the handler calls: the packaged botocore carries exactly their models."""
DEAD_LETTER_RETENTION_SECONDS = 1_209_600
"""14 days, SQS's maximum: a failed asynchronous migration event stays inspectable for two weeks."""


def handler_files() -> dict[str, Path]:
    """Archive paths -> files: the handler's own modules, shipped as the top-level package ``handler``, and the
    contract it imports (``tapstack/contract.py``)."""
    files = {f"{HANDLER_PACKAGE}/{p.name}": p for p in sorted(HANDLER_DIR.glob("*.py"))}
    if f"{HANDLER_PACKAGE}/app.py" not in files:
        raise FileNotFoundError(f"migration handler not found in {HANDLER_DIR} (expected app.py)")
    return {**files, **contract_files()}


def handler_archive() -> pulumi.FileArchive:
    """The handler with the boto3 it was tested with (lambda_package): S3 conditional writes need it."""
    return function_archive("migration", handler_files(), HANDLER_SERVICES)


@dataclass
class FunctionVpc:
    """Where the function runs with ``migrationInVpc``: the region's private subnets, reaching AWS only through the
    VPC's interface endpoints (in the VPC's range) and S3's gateway endpoint (S3's prefix list)."""

    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_ids: Sequence[pulumi.Input[str]]
    subnet_arns: Sequence[pulumi.Input[str]]
    s3_prefix_list_id: pulumi.Input[str]
    security_group_name: str
    partition: pulumi.Input[str]


@dataclass
class MigrationFunctionArgs:
    region: str
    is_primary: bool
    function_name: str
    role_name: str
    log_retention_days: int
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    parameter_name: pulumi.Input[str]
    parameter_arn: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    deployment_topic_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    replica_bucket_names: Sequence[pulumi.Input[str]]
    alarm_names: dict[str, str]
    """Physical alarm names by key: lambda-errors, lambda-throttles, failed-replies, dead-letters."""
    metric_namespace: str
    account_id: pulumi.Input[str]
    asg_name: str
    """The region's Auto Scaling group (the fleet the ``fleet`` check reads); empty when compute is off."""
    fleet_grace_seconds: int
    """How long a new instance may go without a healthy heartbeat before the fleet check counts it."""
    region_key_arn: pulumi.Input[str]
    """The region key, whatever ``kms`` says: it encrypts the logs, the environment and the dead-letter queue."""
    dead_letter_queue_name: str
    reserved_concurrency: int
    """0: no reservation (the function draws on the account's unreserved pool)."""
    vpc: FunctionVpc | None = None
    """None: the function runs on Lambda's own network (the default; docs/security.md, Lambda.3)."""
    timeout_seconds: int = 60
    memory_mb: int = 256


class MigrationFunction(RegionalComponent):
    def __init__(self, name: str, args: MigrationFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:migration:MigrationFunction", name, opts)
        self.log_group = self.add_log_group(
            f"{name}-logs", lambda_log_group_name(args.function_name), args.log_retention_days, args.region_key_arn
        )
        # Where Lambda puts an asynchronous invocation that failed every retry (an event never lost in silence).
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=args.dead_letter_queue_name,
            kms_master_key_id=args.region_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            opts=self.child(),
        )
        self.role = self.add_service_role(f"{name}-role", args.role_name, "lambda.amazonaws.com", args.account_id)
        statements = iam.lambda_statements(
            region=args.region,
            bucket_arn=args.bucket_arn,
            parameter_arn=args.parameter_arn,
            secret_arn=args.secret_arn,
            topic_arn=args.deployment_topic_arn,
            log_group_arn=self.log_group.arn,
            key_arn=args.kms_key_arn,
            read_replication=args.is_primary,
            reads_fleet=bool(args.asg_name),
            dead_letter=(self.dead_letter_queue.arn, args.region_key_arn),
        )
        self.security_group: aws.ec2.SecurityGroup | None = None
        vpc_config = None
        if args.vpc is not None:
            self.security_group = self._security_group(name, args.vpc)
            statements += iam.function_network_statements(
                partition=args.vpc.partition,
                region=args.region,
                account_id=args.account_id,
                subnet_arns=args.vpc.subnet_arns,
                security_group_arn=self.security_group.arn,
            )
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.vpc.subnet_ids), security_group_ids=[self.security_group.id]
            )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=iam.to_json(statements), opts=self.child()
        )
        replicas = pulumi.Output.all(*args.replica_bucket_names).apply(lambda names: json.dumps(list(names)))
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            description="TapStack migration handler: validate / migrate / rollback / status",
            runtime=RUNTIME,
            handler=f"{HANDLER_PACKAGE}.app.handler",
            code=handler_archive(),
            role=self.role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            architectures=["arm64"],
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            reserved_concurrent_executions=args.reserved_concurrency or None,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dead_letter_queue.arn),
            kms_key_arn=args.region_key_arn,
            vpc_config=vpc_config,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "TAPSTACK_REGION": args.region,
                    "TAPSTACK_ROLE": "primary" if args.is_primary else "secondary",
                    "TAPSTACK_DEPLOYMENT_BUCKET": args.bucket_name,
                    "TAPSTACK_CONFIG_PARAMETER": args.parameter_name,
                    "TAPSTACK_SECRET_ARN": args.secret_arn,
                    "TAPSTACK_TOPIC_ARN": args.deployment_topic_arn,
                    "TAPSTACK_REPLICA_BUCKETS": replicas,
                    ENV_ASG_NAME: args.asg_name,
                    ENV_FLEET_GRACE_SECONDS: str(args.fleet_grace_seconds),
                }
            ),
            opts=self.child(depends_on=[self.log_group, self.role_policy]),
        )
        dims = {"FunctionName": self.function.name}
        lambda_metric = {"namespace": "AWS/Lambda", "dimensions": dims, **ANY_IN_A_MINUTE}
        self.errors_alarm = topic_alarm(
            f"{name}-errors",
            args.alarm_names["lambda-errors"],
            args.alarm_topic_arn,
            self.child(),
            metric_name="Errors",
            alarm_description="The migration function raised errors",
            **lambda_metric,
        )
        self.throttles_alarm = topic_alarm(
            f"{name}-throttles",
            args.alarm_names["lambda-throttles"],
            args.alarm_topic_arn,
            self.child(),
            metric_name="Throttles",
            alarm_description="The migration function was throttled",
            **lambda_metric,
        )
        self.dead_letters_alarm = topic_alarm(
            f"{name}-dead-letters",
            args.alarm_names["dead-letters"],
            args.alarm_topic_arn,
            self.child(),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dead_letter_queue.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_description="An asynchronous migration event failed every retry and waits in the dead-letter queue",
        )
        self.failed_replies_filter = aws.cloudwatch.LogMetricFilter(
            f"{name}-failed-replies",
            name=args.alarm_names["failed-replies"],
            log_group_name=self.log_group.name,
            pattern=FAILED_REPLIES_PATTERN,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=FAILED_REPLIES_METRIC, namespace=args.metric_namespace, value="1", default_value="0"
            ),
            opts=self.child(),
        )
        self.failed_replies_alarm = topic_alarm(
            f"{name}-failed-replies-alarm",
            args.alarm_names["failed-replies"],
            args.alarm_topic_arn,
            self.child(depends_on=[self.failed_replies_filter]),
            namespace=args.metric_namespace,
            metric_name=FAILED_REPLIES_METRIC,
            **ANY_IN_A_MINUTE,
            alarm_description="The migration function answered with a 5xx (failed migration/rollback or misdeployment)",
        )
        self.register_outputs(
            {
                "functionName": self.function.name,
                "functionArn": self.function.arn,
                "roleArn": self.role.arn,
                "deadLetterQueueUrl": self.dead_letter_queue.url,
                "securityGroupId": self.security_group.id if self.security_group is not None else None,
            }
        )

    def _security_group(self, name: str, vpc: FunctionVpc) -> aws.ec2.SecurityGroup:
        """Nothing comes in (Lambda invokes the function through its own service, not the interface); HTTPS goes
        out to the VPC's interface endpoints and to S3 through the gateway endpoint, nowhere else: even with a NAT
        route in the subnets, the function cannot reach the internet."""
        return aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=vpc.security_group_name,
            description="TapStack migration function: HTTPS to the VPC's endpoints only",
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
            opts=self.child(),
        )
