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
from ..lib.contract_files import contract_files, runtime_files
from .base import RegionalComponent
from .function import FunctionAlarms, FunctionSite, FunctionVpc, LambdaFunction, LambdaFunctionArgs
from .lambda_package import function_archive
from .monitoring import ALARMS

# The handler answers every failure with a reply instead of raising (callers always get the documented shape),
# so Lambda's own Errors metric only sees crashes and timeouts. Its one-line JSON log per invocation carries the
# status: this filter counts the 5xx replies, and an alarm on that count is what tells a person.
FAILED_REPLIES_PATTERN = '{ ($.event = "invocation") && ($.status >= 500) }'
FAILED_REPLIES_METRIC = ALARMS["failed-replies"].metric_name
HANDLER_DIR = Path(__file__).resolve().parent.parent / "handler"
HANDLER_PACKAGE = "handler"
RUNTIME = "python3.12"


HANDLER_SERVICES = ("autoscaling", "ec2", "s3", "secretsmanager", "sns", "ssm")
"""The AWS services the handler calls: the packaged botocore carries exactly their models."""
ALARM_KINDS = FunctionAlarms(errors="lambda-errors", throttles="lambda-throttles", dead_letters="dead-letters")


def handler_files() -> dict[str, Path]:
    """Archive paths -> files: the handler's own modules, shipped as the top-level package ``handler``, and the
    shared modules it imports (``tapstack/contract.py``, ``tapstack/runtime.py``)."""
    files = {f"{HANDLER_PACKAGE}/{p.name}": p for p in sorted(HANDLER_DIR.glob("*.py"))}
    if f"{HANDLER_PACKAGE}/app.py" not in files:
        raise FileNotFoundError(f"migration handler not found in {HANDLER_DIR} (expected app.py)")
    return {**files, **contract_files(), **runtime_files()}


def handler_archive() -> pulumi.FileArchive:
    """The handler with the boto3 it was tested with (lambda_package): S3 conditional writes need it."""
    return function_archive("migration", handler_files(), HANDLER_SERVICES)


@dataclass
class MigrationFunctionArgs:
    site: FunctionSite
    """Its names (alarms: lambda-errors, lambda-throttles, failed-replies, dead-letters), key and topic."""
    is_primary: bool
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    parameter_name: pulumi.Input[str]
    parameter_arn: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    deployment_topic_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    replica_bucket_names: Sequence[pulumi.Input[str]]
    metric_namespace: str
    asg_name: str
    """The region's Auto Scaling group (the fleet the ``fleet`` check reads); empty when compute is off."""
    fleet_grace_seconds: int
    """How long a new instance may go without a healthy heartbeat before the fleet check counts it."""
    reserved_concurrency: int
    """0: no reservation (the function draws on the account's unreserved pool)."""
    vpc: FunctionVpc | None = None
    """None: the function runs on Lambda's own network (the default; docs/security.md, Lambda.3)."""
    timeout_seconds: int = 60
    memory_mb: int = 256


class MigrationFunction(RegionalComponent):
    """The migration handler as a ``LambdaFunction``, and the alarm on the failures it answers instead of raising."""

    def __init__(self, name: str, args: MigrationFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:migration:MigrationFunction", name, opts)
        replicas = pulumi.Output.all(*args.replica_bucket_names).apply(lambda names: json.dumps(list(names)))

        def policy(
            log_group_arn: pulumi.Output[str], dead_letter: tuple[pulumi.Output[str], pulumi.Input[str]]
        ) -> list[iam.Statement]:
            return iam.lambda_statements(
                region=args.site.region,
                bucket_arn=args.bucket_arn,
                parameter_arn=args.parameter_arn,
                secret_arn=args.secret_arn,
                topic_arn=args.deployment_topic_arn,
                log_group_arn=log_group_arn,
                key_arn=args.kms_key_arn,
                read_replication=args.is_primary,
                reads_fleet=bool(args.asg_name),
                dead_letter=dead_letter,
            )

        self.lambda_function = LambdaFunction(
            name,
            LambdaFunctionArgs(
                site=args.site,
                purpose="migration",
                description="TapStack migration handler: validate / migrate / rollback / status",
                handler=f"{HANDLER_PACKAGE}.app.handler",
                code=handler_archive(),
                policy=policy,
                alarms=ALARM_KINDS,
                environment={
                    "TAPSTACK_REGION": args.site.region,
                    "TAPSTACK_ROLE": "primary" if args.is_primary else "secondary",
                    "TAPSTACK_DEPLOYMENT_BUCKET": args.bucket_name,
                    "TAPSTACK_CONFIG_PARAMETER": args.parameter_name,
                    "TAPSTACK_SECRET_ARN": args.secret_arn,
                    "TAPSTACK_TOPIC_ARN": args.deployment_topic_arn,
                    "TAPSTACK_REPLICA_BUCKETS": replicas,
                    ENV_ASG_NAME: args.asg_name,
                    ENV_FLEET_GRACE_SECONDS: str(args.fleet_grace_seconds),
                },
                reserved_concurrency=args.reserved_concurrency,
                vpc=args.vpc,
                runtime=RUNTIME,
                timeout_seconds=args.timeout_seconds,
                memory_mb=args.memory_mb,
            ),
            self.child(),
            moved_from=self,
        )
        built = self.lambda_function
        self.log_group, self.dead_letter_queue, self.role = built.log_group, built.dead_letter_queue, built.role
        self.role_policy, self.function, self.security_group = built.role_policy, built.function, built.security_group
        self.errors_alarm, self.throttles_alarm, self.dead_letters_alarm = built.alarms
        self.failed_replies_filter = aws.cloudwatch.LogMetricFilter(
            f"{name}-failed-replies",
            name=args.site.alarm_names["failed-replies"],
            log_group_name=self.log_group.name,
            pattern=FAILED_REPLIES_PATTERN,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=FAILED_REPLIES_METRIC, namespace=args.metric_namespace, value="1", default_value="0"
            ),
            opts=self.child(),
        )
        self.failed_replies_alarm = ALARMS["failed-replies"].alarm(
            f"{name}-failed-replies-alarm",
            args.site.alarm_names["failed-replies"],
            args.site.alarm_topic_arn,
            self.child(depends_on=[self.failed_replies_filter]),
            namespace=args.metric_namespace,
        )
        self.register_outputs(built.summary)
