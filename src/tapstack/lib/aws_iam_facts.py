"""What AWS's IAM allows and what its services send, as TapStack relies on it: plain data, no Pulumi.

The policy builders (``lib/iam.py``) and the guard (TAP002, TAP012) read the same tables; keeping them free of
any import lets `tapstack check --graph` judge a graph without loading the Pulumi SDK.
"""

from __future__ import annotations

# Actions for which AWS offers no resource-level permission: the only ones allowed on ``Resource: "*"``.
UNSCOPED_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace ingestion has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray telemetry has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling rules have no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling targets have no resource-level permissions",
    "cloudwatch:PutMetricData": (
        "PutMetricData has no resource-level permissions; TapStack narrows it with a cloudwatch:namespace "
        "condition instead"
    ),
    "autoscaling:DescribeAutoScalingGroups": (
        "Auto Scaling Describe* actions have no resource-level permissions; the migration function reads only "
        "the group named in its environment (the fleet check)"
    ),
    "ec2:DescribeInstances": (
        "EC2 Describe* actions have no resource-level permissions; the fleet check reads only the launch times "
        "of its group's InService instances"
    ),
    "ec2:DescribeNetworkInterfaces": (
        "EC2 Describe* actions have no resource-level permissions (the Lambda Developer Guide: it only works on "
        "'Resource: *'); Lambda calls it with the migration function's role to manage the function's network "
        "interfaces when migrationInVpc is on"
    ),
    "ec2:DescribeSubnets": (
        "EC2 Describe* actions have no resource-level permissions; the Lambda Developer Guide lists it among the "
        "execution role's permissions for a function in a VPC (migrationInVpc)"
    ),
    "logs:DescribeLogGroups": (
        "a list action without resource-level permissions (Service Authorization Reference, CloudWatch Logs); "
        "VPC Flow Logs calls it to find its destination group, as the flow-logs IAM role documentation requires"
    ),
}

# Which service principals send aws:SourceArn with their requests, and the ARN pattern TapStack pins it to
# ({partition}, {region}, {account} filled in). The confused-deputy guard (TAP012) requires aws:SourceArn
# for these and aws:SourceAccount for every service principal.
SOURCE_ARN_PATTERNS: dict[str, str] = {
    # VPC Flow Logs assume the delivery role for a flow log of this account and region.
    "vpc-flow-logs.amazonaws.com": "arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*",
    # CloudWatch publishes alarm actions (SNS) and encrypts them (KMS) on behalf of an alarm.
    "cloudwatch.amazonaws.com": "arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
    # S3 replication assumes its role for the source bucket; server access logging writes for the source bucket.
    "s3.amazonaws.com": "",
    "logging.s3.amazonaws.com": "",
}
"""An empty pattern: the source ARN is a specific bucket, passed by the caller."""
WITHOUT_SOURCE_ARN: dict[str, str] = {
    "ec2.amazonaws.com": (
        "EC2 assumes an instance profile's role for the instance it launched; the request carries no "
        "aws:SourceArn, and passing the role at launch already needs iam:PassRole in this account"
    ),
    "lambda.amazonaws.com": (
        "Lambda assumes an execution role for a function of the account that passed it (iam:PassRole); its "
        "documented aws:SourceArn is the invoking resource in a function's resource policy, not the function "
        "whose role it assumes"
    ),
}

TRUST_WITHOUT_SOURCE_ACCOUNT: dict[str, str] = {
    "ec2.amazonaws.com": (
        "EC2 obtains an instance profile's credentials without aws:SourceAccount in the request (AWS lists no "
        "confused-deputy keys for it; scanners such as Prowler exempt ec2.amazonaws.com), and a positive "
        "condition on an absent key denies: instances would silently get no credentials. Only this account can "
        "attach the profile (iam:PassRole), which is what keeps another account's EC2 out"
    ),
}
"""Trust policies that must not carry aws:SourceAccount, each with the reason; TAP012 accepts exactly these."""
