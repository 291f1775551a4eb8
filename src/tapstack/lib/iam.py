"""IAM and resource-policy documents as small pure functions.

Builders take plain strings or Pulumi Outputs; ``to_json`` serializes through ``Output.json_dumps`` so an
ARN that is not known yet is resolved by Pulumi instead of being stringified as ``<Output ...>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from ..contract import (
    ARTIFACTS_PREFIX,
    HEARTBEAT_PREFIX,
    LOCKS_PREFIX,
    MIGRATIONS_PREFIX,
    POINTER_KEY,
    RELEASES_PREFIX,
    ROLLBACKS_PREFIX,
    heartbeat_key,
)
from .aws_iam_facts import (
    SOURCE_ARN_PATTERNS,
    TRUST_WITHOUT_SOURCE_ACCOUNT,
    UNSCOPED_ACTIONS,
)

CONTROL_PREFIXES = (RELEASES_PREFIX, MIGRATIONS_PREFIX, ROLLBACKS_PREFIX, LOCKS_PREFIX)
"""The function's own regional state: the pointer, migration and rollback records, the release lock."""
OWN_HEARTBEAT_KEY = heartbeat_key("${aws:userid}")
"""IAM substitutes the caller's ``aws:userid``; for an instance role that is ``<role id>:<instance id>``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html), so each instance may
write exactly the key the agent names after its own sts:GetCallerIdentity UserId."""

CLOUDWATCH = "cloudwatch.amazonaws.com"
FLOW_LOGS = "vpc-flow-logs.amazonaws.com"

Statement = dict[str, Any]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    conditions: Mapping[str, Any] | None = None,
    principal: Mapping[str, Any] | None = None,
    effect: str = "Allow",
) -> Statement:
    """One statement; refuses wildcards here so that a careless caller fails in unit tests, not in review."""
    if effect == "Allow":
        for action in actions:
            if action == "*" or action.endswith(":*"):
                raise ValueError(f"statement {sid}: wildcard action {action!r} is not allowed")
    res = list(resources) if isinstance(resources, list | tuple) else [resources]
    if effect == "Allow" and "*" in res:
        wide = [a for a in actions if a not in UNSCOPED_ACTIONS]
        if wide:
            raise ValueError(f"statement {sid}: actions {wide} must name their resources, not '*'")
    st: Statement = {"Sid": sid, "Effect": effect, "Action": list(actions), "Resource": res}
    if principal is not None:
        st["Principal"] = dict(principal)
    if conditions:
        st["Condition"] = dict(conditions)
    return st


def document(statements: Sequence[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def to_json(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """Serialize a document that may hold Outputs."""
    return pulumi.Output.json_dumps(document(statements))


def confused_deputy_conditions(account_id: Any, source_arn: Any | None = None) -> dict[str, Any]:
    """The service may act only for this account (and, where it says which resource it acts for, that one)."""
    conditions: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    return conditions


def source_arn_pattern(service: str, partition: Any, region: str, account_id: Any) -> pulumi.Output[str]:
    """The documented aws:SourceArn of a service that acts for resources of one account and region."""
    pattern = SOURCE_ARN_PATTERNS[service]
    if not pattern:
        raise ValueError(f"{service} acts for one named resource: pass its ARN, not a pattern")
    return pulumi.Output.format(pattern.format(partition="{0}", region=region, account="{1}"), partition, account_id)


def assume_role_policy(service: str, account_id: Any, source_arn: Any | None = None) -> pulumi.Output[str]:
    """Trust policy for one AWS service, limited to this account's (and resource's) requests: no confused deputy."""
    if source_arn is None and service in SOURCE_ARN_PATTERNS:
        raise ValueError(f"{service} sends aws:SourceArn: pass the ARN (pattern) its trust must be limited to")
    st: Statement = {
        "Sid": "TrustService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sts:AssumeRole"],
    }
    if service not in TRUST_WITHOUT_SOURCE_ACCOUNT:
        st["Condition"] = confused_deputy_conditions(account_id, source_arn)
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [st]})


def objects(bucket_arn: Any) -> pulumi.Output[str]:
    """The ARN pattern of every object in a bucket."""
    return pulumi.Output.concat(bucket_arn, "/*")


def log_streams(log_group_arn: Any) -> pulumi.Output[str]:
    return pulumi.Output.concat(log_group_arn, ":*")


def flow_log_statements(log_group_arn: Any) -> list[Statement]:
    """The permissions the VPC User Guide ("IAM role for publishing flow logs to CloudWatch Logs") lists, minus
    logs:CreateLogGroup (the program creates the group, with retention and encryption), each scoped to the one
    log group except DescribeLogGroups, which has no resource-level permission."""
    return [
        statement(
            "WriteFlowLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, log_streams(log_group_arn)],
        ),
        statement("FindFlowLogGroup", ["logs:DescribeLogGroups"], "*"),
    ]


def keys(bucket_arn: Any, *patterns: str) -> list[pulumi.Output[str]]:
    """Object ARNs of a bucket under the given keys or key patterns (``prefix/*``)."""
    return [pulumi.Output.concat(bucket_arn, "/", pattern) for pattern in patterns]


def instance_statements(
    data_bucket_arn: Any, log_group_arn: Any, metric_namespace: str, deployment_bucket_arn: Any | None = None
) -> list[Statement]:
    """The application instance: its data bucket, its own log group, metrics in its own namespace, and (when the
    region has a deployment bucket) what the release agent reads plus its own heartbeat, nothing else there."""
    statements = [
        statement("ListDataBucket", ["s3:ListBucket"], [data_bucket_arn]),
        statement("ReadWriteDataObjects", ["s3:GetObject", "s3:PutObject"], [objects(data_bucket_arn)]),
        statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, log_streams(log_group_arn)],
        ),
        statement(
            "PutOwnMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            conditions={"StringEquals": {"cloudwatch:namespace": metric_namespace}},
        ),
    ]
    if deployment_bucket_arn is not None:
        statements += agent_statements(deployment_bucket_arn)
    return statements


def agent_statements(deployment_bucket_arn: Any) -> list[Statement]:
    """The release agent reads the pointer and the version-pinned manifest and artifacts, and writes one key:
    its own heartbeat. No delete, no other prefix: an instance cannot tamper with a release, the migration
    state or another instance's heartbeat.

    The one list grant is limited to the pointer's own key: without s3:ListBucket, S3 answers a GET of a
    missing key with 403 instead of 404, and every agent would report "AccessDenied" before the first release
    instead of "no release yet". With the prefix pinned to that key a listing reveals nothing else."""
    return [
        statement(
            "KnowWhetherAReleaseExists",
            ["s3:ListBucket"],
            [deployment_bucket_arn],
            conditions={"StringEquals": {"s3:prefix": [POINTER_KEY]}},
        ),
        statement(
            "ReadCurrentRelease",
            ["s3:GetObject", "s3:GetObjectVersion"],
            keys(deployment_bucket_arn, POINTER_KEY, ARTIFACTS_PREFIX + "*"),
        ),
        statement("WriteOwnHeartbeat", ["s3:PutObject"], keys(deployment_bucket_arn, OWN_HEARTBEAT_KEY)),
    ]


def tls_only_statement(bucket_arn: Any) -> Statement:
    """Deny every request not made over TLS (S3.5); a wildcard is right here because it only denies."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, objects(bucket_arn)],
        conditions={"Bool": {"aws:SecureTransport": "false"}},
        principal={"AWS": "*"},
        effect="Deny",
    )


def via_services(region: str, *services: str) -> dict[str, Any]:
    """Condition that lets a KMS grant be used only through the named AWS services in one region."""
    return {"StringEquals": {"kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in services]}}


def instance_key_statements(key_arn: Any, region: str) -> list[Statement]:
    """With SSE-KMS on the data bucket, S3 reads and writes need the region key, through S3 only."""
    return [
        statement(
            "UseRegionKeyThroughS3",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [key_arn],
            conditions=via_services(region, "s3"),
        )
    ]


def root_admin_statement(account_id: Any, partition: Any) -> Statement:
    """The account root keeps full control of the key, or a broken policy could lock the key out forever.

    This is the one ``kms:*`` grant TapStack makes, and it is the form AWS documents as the default.
    """
    return {
        "Sid": "EnableAccountRootAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id, partition)},
        "Action": ["kms:*"],
        "Resource": "*",
    }


KEY_USER_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def key_policy(
    account_id: Any, partition: Any, region: str, user_role_arns: Sequence[Any] = (), log_group_arns: Sequence[Any] = ()
) -> pulumi.Output[str]:
    """Root administration, the stack's own roles as users, CloudWatch (alarms publish to encrypted topics) and
    CloudWatch Logs for exactly the stack's log groups of this region.

    In a key policy ``Resource: "*"`` means "this key", so it is scoped by construction. The users are named by
    their role ARNs as principals: a statement whose principal is the account root only delegates to IAM, which
    the administration statement already does, so it would grant and restrict nothing. KMS refuses a policy that
    names a principal that does not exist (MalformedPolicyDocumentException), so a policy with users is written
    after the roles exist (``RegionKey.grant_users``); without users this is the policy the key is created with.
    The administration statement stays in both: without it the policy would fail KMS's lockout safety check,
    which TapStack never bypasses.
    """
    statements = [root_admin_statement(account_id, partition)]
    if user_role_arns:
        statements.append(
            {
                "Sid": "AllowStackRolesToUseKey",
                "Effect": "Allow",
                "Principal": {"AWS": list(user_role_arns)},
                "Action": list(KEY_USER_ACTIONS),
                "Resource": "*",
            }
        )
    statements.append(
        {
            "Sid": "AllowCloudWatchAlarmsToPublishEncrypted",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": confused_deputy_conditions(
                account_id, source_arn_pattern(CLOUDWATCH, partition, region, account_id)
            ),
        }
    )
    if log_group_arns:
        statements.append(logs_key_statement(region, log_group_arns))
    return pulumi.Output.json_dumps(document(statements))


LOGS_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)
"""What CloudWatch Logs does with a log group's key (the AWS guide's ``Encrypt*``/``Decrypt*``/``ReEncrypt*``/
``GenerateDataKey*``/``Describe*``, spelled out so no future KMS action is granted by a wildcard)."""


def log_group_arn(partition: Any, region: str, account_id: Any, name: str) -> pulumi.Output[str]:
    """The ARN CloudWatch Logs puts in the encryption context (``aws:logs:arn``): without the ``:*`` suffix."""
    return pulumi.Output.format("arn:{0}:logs:{1}:{2}:log-group:{3}", partition, region, account_id, name)


def logs_key_statement(region: str, log_group_arns: Sequence[Any]) -> Statement:
    """CloudWatch Logs of this region may use the key only for the named log groups: the encryption context it
    sends names the group, and that ARN carries the account, which is what binds the grant to this account
    (CloudWatch Logs sends no aws:SourceAccount to KMS; TAP012 accepts this binding)."""
    return {
        "Sid": "AllowCloudWatchLogsForStackLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": list(LOGS_KEY_ACTIONS),
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}},
    }


def account_root(account_id: Any, partition: Any) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:{0}:iam::{1}:root", partition, account_id)


def topic_policy(
    topic_arn: Any, account_id: Any, partition: Any, region: str, allow_cloudwatch: bool
) -> pulumi.Output[str]:
    """Only this account's principals (and, for the alarm topic, CloudWatch on its behalf) may publish."""
    statements: list[Statement] = [
        {
            "Sid": "AccountPrincipalsPublish",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": ["sns:Publish"],
            "Resource": topic_arn,
        }
    ]
    if allow_cloudwatch:
        statements.append(
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH},
                "Action": ["sns:Publish"],
                "Resource": topic_arn,
                "Condition": confused_deputy_conditions(
                    account_id, source_arn_pattern(CLOUDWATCH, partition, region, account_id)
                ),
            }
        )
    return pulumi.Output.json_dumps(document(statements))


def log_delivery_statement(log_bucket_arn: Any, source_bucket_arns: Sequence[Any], account_id: Any) -> Statement:
    """Server access logs are delivered by the logging service; AWS recommends this grant over ACLs."""
    return statement(
        "S3ServerAccessLogsDelivery",
        ["s3:PutObject"],
        [pulumi.Output.concat(log_bucket_arn, "/access-logs/*")],
        conditions=confused_deputy_conditions(account_id, list(source_bucket_arns)),
        principal={"Service": "logging.s3.amazonaws.com"},
    )


def lambda_statements(
    *,
    region: str,
    bucket_arn: Any,
    parameter_arn: Any,
    secret_arn: Any,
    topic_arn: Any,
    log_group_arn: Any,
    key_arn: Any | None,
    read_replication: bool,
    reads_fleet: bool,
    dead_letter: tuple[Any, Any] | None = None,
) -> list[Statement]:
    """Exactly the calls the migration handler makes, each on the one resource it makes it on.

    It writes only its control prefixes: ``artifacts/`` replicates to every region, so a function that could
    write there could replace a release everywhere. It never deletes (the lock is released by a conditional put).
    ``dead_letter`` is ``(queue ARN, the queue's key ARN)``: Lambda sends an asynchronous event that failed every
    attempt there with the function's own role.
    """
    bucket_actions = ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration"]
    if read_replication:
        bucket_actions.append("s3:GetReplicationConfiguration")
    control = [prefix + "*" for prefix in CONTROL_PREFIXES]
    statements = [
        statement("InspectDeploymentBucket", bucket_actions, [bucket_arn]),
        statement(
            "ReadReleasesAndHeartbeats",
            ["s3:GetObject", "s3:GetObjectVersion"],
            keys(bucket_arn, ARTIFACTS_PREFIX + "*", HEARTBEAT_PREFIX + "*", *control),
        ),
        statement("WriteControlObjects", ["s3:PutObject"], keys(bucket_arn, *control)),
        statement("ReadMigrationConfig", ["ssm:GetParameter"], [parameter_arn]),
        statement("ReadMigrationSecret", ["secretsmanager:GetSecretValue"], [secret_arn]),
        statement("NotifyDeployments", ["sns:Publish", "sns:GetTopicAttributes"], [topic_arn]),
        statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn, log_streams(log_group_arn)]
        ),
        statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    ]
    if reads_fleet:
        statements.append(
            statement("DescribeFleet", ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"], "*")
        )
    if key_arn is not None:
        statements.append(
            statement(
                "UseRegionKeyThroughServices",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [key_arn],
                conditions=via_services(region, "ssm", "secretsmanager", "s3", "sns"),
            )
        )
    if dead_letter is not None:
        statements += dead_letter_statements(region, *dead_letter)
    return statements


def dead_letter_statements(region: str, queue_arn: Any, queue_key_arn: Any) -> list[Statement]:
    """Lambda sends an asynchronous event that failed every attempt to the queue with the function's own role."""
    return [
        statement("SendFailedEventsToQueue", ["sqs:SendMessage"], [queue_arn]),
        statement(
            "EncryptFailedEvents",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [queue_key_arn],
            conditions=via_services(region, "sqs"),
        ),
    ]


FUNCTION_ENI_ACTIONS = (
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
"""What Lambda does, with the function's role, to the network interfaces it created for the function."""


def network_interfaces_arn(partition: Any, region: str, account_id: Any) -> pulumi.Output[str]:
    """Every network interface of this account in this region (an interface's id is not known in advance)."""
    return pulumi.Output.format("arn:{0}:ec2:{1}:{2}:network-interface/*", partition, region, account_id)


def function_network_statements(
    *, partition: Any, region: str, account_id: Any, subnet_arns: Sequence[Any], security_group_arn: Any
) -> list[Statement]:
    """The permissions the Lambda Developer Guide ("Giving Lambda functions access to a VPC") lists for the
    execution role of a function in a VPC: Lambda creates and manages the function's interfaces with them.

    CreateNetworkInterface is authorized against the interface, the subnet and the security group, so naming
    the private subnets and the function's own group limits new interfaces to exactly those. Delete, Assign and
    Unassign act on interfaces whose ids are not known in advance; the guide warns that Lambda checks
    DeleteNetworkInterface with an id of its own choosing, so they cover every interface of this account and
    region and carry no condition on the interface's VPC or subnet (the check's interface has neither, and a
    condition on a missing key denies). DescribeNetworkInterfaces and DescribeSubnets only work on ``*``
    (UNSCOPED_ACTIONS).
    """
    interfaces = network_interfaces_arn(partition, region, account_id)
    return [
        statement(
            "CreateFunctionInterfacesInPrivateSubnets",
            ["ec2:CreateNetworkInterface"],
            [interfaces, *subnet_arns, security_group_arn],
        ),
        statement("ManageFunctionInterfaces", list(FUNCTION_ENI_ACTIONS), [interfaces]),
        statement("DescribeFunctionNetwork", list(FUNCTION_DESCRIBE_ACTIONS), "*"),
    ]


FUNCTION_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
"""The Describe calls the Lambda Developer Guide ("Giving Lambda functions access to a VPC", execution role
permissions) lists for a VPC function's role; both work only on ``*`` (UNSCOPED_ACTIONS)."""


ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
"""The four-step rotation protocol's calls (the Secrets Manager guide's rotation-role policy). No
``GetRandomPassword``: the function draws the new token from the ``secrets`` module, so it needs no ``*``."""


def rotation_statements(
    *, region: str, secret_arn: Any, log_group_arn: Any, key_arn: Any | None, dead_letter: tuple[Any, Any]
) -> list[Statement]:
    """The rotation function: its one secret, its own logs and traces, the key through Secrets Manager only, and
    its dead-letter queue (``(queue ARN, the queue's key ARN)``)."""
    statements = [
        statement("RotateMigrationToken", list(ROTATION_ACTIONS), [secret_arn]),
        statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn, log_streams(log_group_arn)]
        ),
        statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        *dead_letter_statements(region, *dead_letter),
    ]
    if key_arn is not None:
        statements.append(
            statement(
                "UseRegionKeyThroughSecretsManager",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [key_arn],
                conditions=via_services(region, "secretsmanager"),
            )
        )
    return statements


def principal_arn_patterns(caller_arn: str) -> list[str]:
    """``aws:PrincipalArn`` patterns of the identity that runs the deployment.

    An assumed-role session (``arn:aws:sts::1:assumed-role/Deployer/session``) is evaluated as its role, whose
    ARN may carry a path the session ARN omits: ``role/Deployer`` and ``role/*/Deployer`` cover both.
    """
    match = re.fullmatch(r"arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    if match is None:
        return [caller_arn]
    partition, account, role = match.groups()
    return [f"arn:{partition}:iam::{account}:role/{role}", f"arn:{partition}:iam::{account}:role/*/{role}"]


SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
SECRET_WRITE_ACTIONS = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
)


def secret_policy(
    secret_arn: Any,
    account_id: Any,
    partition: Any,
    reader_role_arns: Sequence[Any],
    rotation_role_arn: Any,
    administrator_arns: Any,
) -> pulumi.Output[str]:
    """The secret's resource policy: its readers read it, its rotation role rotates it, nobody else does either.

    Identity policies alone would let any principal of the account with ``secretsmanager:GetSecretValue`` on
    ``*`` (an over-broad developer role) read the token; the explicit denies close that. ``administrator_arns``
    (the deploying identity's ``aws:PrincipalArn`` patterns, an Output of a list) stay exempt because Pulumi
    writes the first version and reads it back on refresh; the account root stays exempt as the break-glass
    principal, as in the key policy.
    """
    root = account_root(account_id, partition)
    readers = pulumi.Output.all(*reader_role_arns, rotation_role_arn).apply(list)
    exempt = pulumi.Output.all(root, administrator_arns).apply(lambda v: [v[0], *v[1]])
    return pulumi.Output.json_dumps(
        document(
            [
                {
                    "Sid": "ReadersOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": [*SECRET_READ_ACTIONS, "secretsmanager:DescribeSecret"],
                    "Resource": secret_arn,
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": readers}},
                },
                _deny_all_but(
                    "DenyReadingToAllOthers",
                    secret_arn,
                    SECRET_READ_ACTIONS,
                    pulumi.Output.all(readers, exempt).apply(lambda v: [*v[0], *v[1]]),
                ),
                _deny_all_but(
                    "DenyChangingToAllButRotation",
                    secret_arn,
                    SECRET_WRITE_ACTIONS,
                    pulumi.Output.all(rotation_role_arn, exempt).apply(lambda v: [v[0], *v[1]]),
                ),
            ]
        )
    )


def _deny_all_but(sid: str, secret_arn: Any, actions: Sequence[str], principal_arns: Any) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": list(actions),
        "Resource": secret_arn,
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": principal_arns}},
    }


def replication_statements(
    *,
    source_bucket_arn: Any,
    destination_bucket_arns: Sequence[Any],
    source_key: tuple[str, Any] | None,
    destination_keys: Sequence[tuple[str, Any]],
    object_lock: bool = False,
) -> list[Statement]:
    """The documented S3 replication actions on the source and each destination, and no bucket besides.

    ``object_lock``: the source bucket has Object Lock; S3 then replicates each version's retention and legal
    hold, which it reads with the role (S3 User Guide, "Object Lock considerations" > replication; the
    destinations must have Object Lock too, or replication fails with ``DstBucketObjectLockConfigMissing``).
    """
    statements = [
        statement("ReadSourceConfiguration", ["s3:GetReplicationConfiguration", "s3:ListBucket"], [source_bucket_arn]),
        statement(
            "ReadSourceVersions",
            ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            [objects(source_bucket_arn)],
        ),
        statement(
            "WriteReplicas",
            ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            [objects(arn) for arn in destination_bucket_arns],
        ),
    ]
    if object_lock:
        statements.append(
            statement(
                "ReadSourceLocks", ["s3:GetObjectRetention", "s3:GetObjectLegalHold"], [objects(source_bucket_arn)]
            )
        )
    if source_key is not None:
        region, arn = source_key
        statements.append(statement("DecryptSource", ["kms:Decrypt"], [arn], conditions=via_services(region, "s3")))
    for i, (region, arn) in enumerate(destination_keys):
        statements.append(
            statement(f"EncryptReplica{i}", list(REPLICA_KEY_ACTIONS), [arn], conditions=via_services(region, "s3"))
        )
    return statements


REPLICA_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt")
"""What the replication role does with each replica key: S3 encrypts the replica with it, and because the
destination buckets use an S3 Bucket Key, S3 also checks that bucket key with a ``kms:Decrypt`` as the role (S3
User Guide, "Replicating encrypted objects", the section on S3 Bucket Keys and replication). Without Decrypt
every replica goes to FAILED."""
