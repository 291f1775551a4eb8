"""Service level: each service, as deployed in the emulator, holds exactly the secure configuration asked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.helpers import CODES, PRIMARY, SECONDARY, Deployed

REGIONS = [PRIMARY, SECONDARY]


def _default_route(deployed: Deployed, region: str, subnet_id: str) -> dict[str, Any]:
    tables = deployed.aws("ec2", region).describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    assert len(tables) == 1, f"{subnet_id} should have its own route table"
    routes = [r for r in tables[0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert len(routes) == 1, f"{subnet_id}: expected one default route, got {routes}"
    return routes[0]


@pytest.mark.parametrize("region", REGIONS)
def test_private_subnets_reach_out_through_a_nat_and_public_subnets_through_the_igw(
    deployed: Deployed, region: str
) -> None:
    ec2 = deployed.aws("ec2", region)
    vpc_id = deployed.out(region, "vpc_id")
    public = deployed.out(region, "public_subnet_ids")
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]
    nats = {
        n["NatGatewayId"]: n["SubnetId"]
        for n in ec2.describe_nat_gateways(NatGatewayIds=deployed.out(region, "nat_gateway_ids"))["NatGateways"]
    }
    assert len(nats) == 2, "natStrategy per_az: one NAT gateway per AZ"
    assert set(nats.values()) == set(public), "NAT gateways live in the public subnets"
    for subnet_id in public:
        assert _default_route(deployed, region, subnet_id)["GatewayId"] == igw_id
    used = {_default_route(deployed, region, s)["NatGatewayId"] for s in deployed.out(region, "private_subnet_ids")}
    assert used == set(nats), "each private subnet routes 0.0.0.0/0 to a NAT gateway, every NAT is used"


@pytest.mark.parametrize("region", REGIONS)
def test_the_vpc_flow_log_sends_all_traffic_to_its_log_group_through_the_flow_log_role(
    deployed: Deployed, region: str
) -> None:
    vpc_id = deployed.out(region, "vpc_id")
    group = deployed.out(region, "flow_log_group")
    flow_logs = deployed.aws("ec2", region).describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])[
        "FlowLogs"
    ]
    assert len(flow_logs) == 1
    flow_log = flow_logs[0]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    account = deployed.emulator.account_id
    assert flow_log["LogDestination"] == f"arn:aws:logs:{region}:{account}:log-group:{group}"
    groups = deployed.aws("logs", region).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(group, 14)]

    iam = deployed.aws("iam", region)
    role_name = flow_log["DeliverLogsPermissionArn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "vpc-flow-logs.amazonaws.com"}]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    statements = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]["Statement"]
    scoped = {r for s in statements if s["Sid"] == "WriteFlowLogs" for r in s["Resource"]}
    assert scoped == {flow_log["LogDestination"], flow_log["LogDestination"] + ":*"}
    # the flow-logs IAM role documentation's list, minus CreateLogGroup; DescribeLogGroups has no resource scope
    assert sorted(
        (s["Sid"], tuple(s["Action"]), tuple(s["Resource"])) for s in statements if s["Sid"] != "WriteFlowLogs"
    ) == [("FindFlowLogGroup", ("logs:DescribeLogGroups",), ("*",))]


def _buckets(deployed: Deployed) -> list[tuple[str, str]]:
    return [
        (region, deployed.out(region, key))
        for region in REGIONS
        for key in ("data_bucket", "deployment_bucket", "log_bucket")
    ]


def test_every_bucket_is_versioned_encrypted_private_acl_less_and_tls_only(deployed: Deployed) -> None:
    buckets = _buckets(deployed)
    assert len(buckets) == 6
    for region, bucket in buckets:
        s3 = deployed.aws("s3", region)
        assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] in (None, region)
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", bucket
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        algorithm = rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        assert algorithm in ("AES256", "aws:kms"), bucket
        assert bool(rule.get("BucketKeyEnabled")) is (algorithm == "aws:kms"), "a bucket key only serves SSE-KMS"
        flags = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert flags == dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ), bucket
        ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}], bucket
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
        assert deny == [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Action": ["s3:*"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Principal": {"AWS": "*"},
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ], bucket


def test_data_and_deployment_buckets_log_access_to_their_regions_log_bucket(deployed: Deployed) -> None:
    for region in REGIONS:
        for key in ("data_bucket", "deployment_bucket"):
            bucket = deployed.out(region, key)
            logging = deployed.aws("s3", region).get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
            assert logging == {
                "TargetBucket": deployed.out(region, "log_bucket"),
                "TargetPrefix": f"access-logs/{bucket}/",
            }


@pytest.mark.parametrize("region", REGIONS)
def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_ok(deployed: Deployed, region: str) -> None:
    topic = deployed.out(region, "alarm_topic_arn")
    suffix = f"-{CODES[region]}-local"
    alarms = [
        a
        for a in deployed.aws("cloudwatch", region).describe_alarms(AlarmNamePrefix="tapstack-")["MetricAlarms"]
        if a["AlarmName"].endswith(suffix)
    ]
    names = sorted(a["AlarmName"].removesuffix(suffix) for a in alarms)
    expected = ["tapstack-cpu-high", "tapstack-cpu-low", "tapstack-in-service-low", "tapstack-lambda-errors"]
    replication = {
        PRIMARY: f"tapstack-replication-failed-{CODES[SECONDARY]}",
        SECONDARY: "tapstack-replication-latency",
    }
    assert names == sorted(
        [
            *expected,
            "tapstack-lambda-throttles",
            "tapstack-failed-replies",
            "tapstack-dead-letters",
            "tapstack-rotation-errors",
            "tapstack-rotation-throttles",
            "tapstack-rotation-dead-letters",
            replication[region],
        ]
    )
    for alarm in alarms:
        assert alarm["ActionsEnabled"] is True
        assert alarm["AlarmActions"] == [topic], alarm["AlarmName"]
        assert alarm["OKActions"] == [topic], alarm["AlarmName"]
    attributes = deployed.aws("sns", region).get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == deployed.out(region, "kms_key_arn")


@pytest.mark.parametrize("region", REGIONS)
def test_failed_replies_filter_feeds_the_failed_replies_alarm(deployed: Deployed, region: str) -> None:
    function = deployed.out(region, "function_name")
    (flt,) = deployed.aws("logs", region).describe_metric_filters(logGroupName=f"/aws/lambda/{function}")[
        "metricFilters"
    ]
    (transformation,) = flt["metricTransformations"]
    (alarm,) = deployed.aws("cloudwatch", region).describe_alarms(
        AlarmNames=[f"tapstack-failed-replies-{CODES[region]}-local"]
    )["MetricAlarms"]
    assert flt["filterPattern"] == '{ ($.event = "invocation") && ($.status >= 500) }'
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["metricNamespace"],
        transformation["metricName"],
    )


@pytest.mark.parametrize("region", REGIONS)
def test_the_config_parameter_is_a_securestring_under_the_region_key(deployed: Deployed, region: str) -> None:
    ssm = deployed.aws("ssm", region)
    name = deployed.out(region, "config_parameter")
    (described,) = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert described["Type"] == "SecureString"
    assert described["KeyId"] == deployed.out(region, "kms_key_arn")
    config = json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    assert (config["region"], config["primary_region"]) == (region, PRIMARY)


@pytest.mark.parametrize("region", REGIONS)
def test_the_default_security_group_is_empty_and_every_subnet_has_a_custom_nacl(
    deployed: Deployed, region: str
) -> None:
    ec2 = deployed.aws("ec2", region)
    vpc = [{"Name": "vpc-id", "Values": [deployed.out(region, "vpc_id")]}]
    (default,) = ec2.describe_security_groups(Filters=[*vpc, {"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"
    ]
    assert (default["IpPermissions"], default["IpPermissionsEgress"]) == ([], [])
    subnets = deployed.out(region, "public_subnet_ids") + deployed.out(region, "private_subnet_ids")
    for acl in ec2.describe_network_acls(Filters=vpc)["NetworkAcls"]:
        associated = {a["SubnetId"] for a in acl["Associations"]}
        if acl["IsDefault"]:
            assert associated == set(), "no subnet is left on the default NACL"
            continue
        denied = {
            e["PortRange"]["From"]
            for e in acl["Entries"]
            if e["RuleAction"] == "deny" and not e["Egress"] and e.get("CidrBlock") == "0.0.0.0/0" and "PortRange" in e
        }
        tier = {t["Key"]: t["Value"] for t in acl.get("Tags", [])}["Tier"]
        # the public tier admits NAT replies on any port from 1024 up, 3389 included (lib/nacl.py)
        assert denied == ({22, 3389} if tier == "private" else {22}), acl["NetworkAclId"]
        subnets = [s for s in subnets if s not in associated]
    assert subnets == [], "every subnet is associated with a custom NACL"


@pytest.mark.parametrize("region", REGIONS)
def test_instances_run_in_private_subnets_with_imdsv2_encrypted_disks_and_no_public_ip(
    deployed: Deployed, region: str
) -> None:
    asg_name = deployed.out(region, "asg_name")
    (group,) = deployed.aws("autoscaling", region).describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
        "AutoScalingGroups"
    ]
    assert (group["HealthCheckType"], group["HealthCheckGracePeriod"]) == ("EC2", 300)
    assert set(group["VPCZoneIdentifier"].split(",")) == set(deployed.out(region, "private_subnet_ids"))
    assert len(group["Instances"]) == group["DesiredCapacity"] == 1
    ec2 = deployed.aws("ec2", region)
    template = group["LaunchTemplate"]
    (version,) = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=[template["Version"]]
    )["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert [m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"]] == [True]
    assert [n["AssociatePublicIpAddress"] for n in data["NetworkInterfaces"]] == [False]
    assert data["IamInstanceProfile"]["Arn"].endswith(f"/tapstack-instance-{CODES[region]}-local")
    instance_ids = [i["InstanceId"] for i in group["Instances"]]
    instances = [i for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"] for i in r["Instances"]]
    assert {i["SubnetId"] for i in instances} <= set(deployed.out(region, "private_subnet_ids"))


@pytest.mark.parametrize("region", REGIONS)
def test_the_migration_function_reserves_nothing_is_encrypted_and_its_dead_letter_queue_too(
    deployed: Deployed, region: str
) -> None:
    """moto drops a function's DeadLetterConfig (unit/program/test_platform.py proves the wiring on the graph)."""
    lam = deployed.aws("lambda", region)
    name = deployed.out(region, "function_name")
    key = deployed.out(region, "kms_key_arn")
    assert lam.get_function_configuration(FunctionName=name)["KMSKeyArn"] == key, "environment under the region key"
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name), "opt-in"
    queue_url = deployed.out(region, "dead_letter_queue_url")
    attributes = deployed.aws("sqs", region).get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["KmsMasterKeyId"] == key
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"


@pytest.mark.parametrize("region", REGIONS)
def test_every_log_group_is_encrypted_with_the_region_key(deployed: Deployed, region: str) -> None:
    groups = deployed.aws("logs", region).describe_log_groups()["logGroups"]
    ours = {g["logGroupName"]: g.get("kmsKeyId") for g in groups if "tapstack" in g["logGroupName"]}
    assert len(ours) == 4, ours  # flow logs, app, migration function, rotation function
    assert set(ours.values()) == {deployed.out(region, "kms_key_arn")}


@pytest.mark.parametrize("key", ["data_bucket", "deployment_bucket"])
def test_object_events_of_the_data_and_deployment_buckets_go_to_eventbridge(deployed: Deployed, key: str) -> None:
    """moto stores EventBridgeConfiguration but leaves it out of GetBucketNotificationConfiguration: read it from
    the emulator's own store (the emulator runs in this process)."""
    from moto.s3.models import s3_backends

    account = deployed.aws("sts").get_caller_identity()["Account"]
    for region in REGIONS:
        bucket = s3_backends[account]["aws"].get_bucket(deployed.out(region, key))
        assert bucket.notification_configuration is not None, (region, key)
        assert bucket.notification_configuration.event_bridge == {}, (region, key)
