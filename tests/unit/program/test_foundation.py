"""System A under mocks: exact counts and the security-relevant inputs of every child."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from tapstack.agent.userdata import render_user_data
from tapstack.graph import Graph
from tapstack.lib.regions import region_code
from tests.helpers import Synth, as_list, policy, statements

A_ONLY = {"features": {"compute": True, "migration": False}}


def test_every_aws_resource_uses_its_regions_explicit_provider(platform: Graph) -> None:
    providers = {r.urn: r for r in platform if r.is_provider}
    assert {p.inputs["region"] for p in providers.values()} == {"us-east-1", "us-west-2", "eu-west-1"}
    for r in platform.aws_resources():
        assert r.provider in providers, f"{r.name} ({r.type}) uses the default provider"
        region = providers[r.provider].inputs["region"]
        assert r.region == region
        assert r.name.startswith({"us-east-1": "use1-", "us-west-2": "usw2-", "eu-west-1": "euw1-"}[region])


def test_providers_carry_default_tags(foundation: Graph) -> None:
    (provider,) = [r for r in foundation if r.is_provider]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["Environment"] == "dev" and tags["ManagedBy"] == "pulumi" and tags["Owner"] == "platform-team"


def test_every_child_is_parented_to_a_component(foundation: Graph) -> None:
    components = {r.urn for r in foundation if r.is_component}
    assert all(r.parent in components for r in foundation.aws_resources())


@pytest.mark.parametrize(
    ("strategy", "nats", "private_tables", "default_routes"),
    [("none", 0, 1, 1), ("single", 1, 1, 2), ("per_az", 3, 3, 4)],
)
def test_nat_strategy(synth: Synth, strategy: str, nats: int, private_tables: int, default_routes: int) -> None:
    g = synth(natStrategy=strategy, azCount=3, **A_ONLY)
    assert len(g.of_type("aws:ec2/natGateway:NatGateway")) == nats
    assert len(g.of_type("aws:ec2/eip:Eip")) == nats
    assert len(g.of_type("aws:ec2/routeTable:RouteTable")) == 1 + private_tables
    routes = g.of_type("aws:ec2/route:Route")
    assert len(routes) == default_routes
    assert sum("natGatewayId" in r.inputs for r in routes) == nats and nats <= 3


def test_subnets_per_tier_and_private_subnets_never_map_public_ips(synth: Synth) -> None:
    g = synth(azCount=3, **A_ONLY)
    subnets = g.of_type("aws:ec2/subnet:Subnet")
    tiers = sorted(s.inputs["tags"]["Tier"] for s in subnets)
    assert tiers == ["private"] * 3 + ["public"] * 3
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3


def test_private_routes_go_through_nat_and_public_through_igw(foundation: Graph) -> None:
    igw = foundation.of_type("aws:ec2/internetGateway:InternetGateway")[0].outputs["id"]
    nat_ids = {n.outputs["id"] for n in foundation.of_type("aws:ec2/natGateway:NatGateway")}
    routes = foundation.of_type("aws:ec2/route:Route")
    public = [r for r in routes if "public" in r.name]
    private = [r for r in routes if "private" in r.name]
    assert [r.inputs["gatewayId"] for r in public] == [igw]
    assert {r.inputs["natGatewayId"] for r in private} == nat_ids
    assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_flow_log_captures_all_traffic_into_a_retained_log_group(foundation: Graph) -> None:
    (flow,) = foundation.of_type("aws:ec2/flowLog:FlowLog")
    (vpc,) = foundation.of_type("aws:ec2/vpc:Vpc")
    group = next(g for g in foundation.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow" in g.name)
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["vpcId"] == vpc.outputs["id"]
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] == 90
    role_policy = next(p for p in foundation.of_type("aws:iam/rolePolicy:RolePolicy") if "flow" in p.name)
    # The VPC User Guide's list for delivery to CloudWatch Logs, minus CreateLogGroup (the program owns the group).
    assert statements(policy(role_policy)) == [
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group.outputs["arn"], group.outputs["arn"] + ":*"],
        },
        {"Sid": "FindFlowLogGroup", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": ["*"]},
    ]


def test_every_subnet_is_in_a_custom_nacl_and_default_sg_is_empty(foundation: Graph) -> None:
    subnet_ids = {s.outputs["id"] for s in foundation.of_type("aws:ec2/subnet:Subnet")}
    covered = [sid for acl in foundation.of_type("aws:ec2/networkAcl:NetworkAcl") for sid in acl.inputs["subnetIds"]]
    assert sorted(covered) == sorted(subnet_ids)
    (default_sg,) = foundation.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg.inputs.get("ingress") and not default_sg.inputs.get("egress")
    rules = foundation.of_type("aws:ec2/networkAclRule:NetworkAclRule")
    assert len(rules) == 11  # public: deny 22 + 4 allows; private: deny 22, deny 3389 + 4 allows
    for rule in rules:
        if (
            rule.inputs["ruleAction"] == "allow"
            and not rule.inputs["egress"]
            and rule.inputs["cidrBlock"] == "0.0.0.0/0"
        ):
            denies = {
                (r.inputs["fromPort"], r.inputs["networkAclId"]) for r in rules if r.inputs["ruleAction"] == "deny"
            }
            assert (22, rule.inputs["networkAclId"]) in denies


def test_launch_template_requires_imdsv2_encrypts_ebs_and_has_no_public_ip(foundation: Graph) -> None:
    (lt,) = foundation.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
    assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (bdm,) = lt.inputs["blockDeviceMappings"]
    assert bdm["ebs"]["encrypted"] == "true" and bdm["ebs"]["volumeType"] == "gp3"
    (nic,) = lt.inputs["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "false"
    assert "keyName" not in lt.inputs, "no SSH key: access is through SSM Session Manager"


def test_instance_metadata_tags_are_off_so_any_stack_tag_key_can_launch(synth: Synth) -> None:
    """With metadata tags on, EC2 refuses to launch an instance whose tag keys hold a space or '/'; nothing on
    the instance reads its tags from the metadata service, so they are off and such a tag launches."""
    g = synth(regions=["us-east-1"], tags={"cost center": "42", "team/owner": "platform"})
    (lt,) = [r for r in g.of_type("aws:ec2/launchTemplate:LaunchTemplate")]
    assert lt.inputs["metadataOptions"]["instanceMetadataTags"] == "disabled"
    instance = next(t for t in lt.inputs["tagSpecifications"] if t["resourceType"] == "instance")
    assert {"cost center", "team/owner"} <= set(instance["tags"])


def test_an_instance_refresh_launches_before_it_terminates(foundation: Graph) -> None:
    """Minimum 100 %: never below the desired capacity; maximum 200 %: room to launch the replacement first. The
    earlier 90 % with the default maximum (100 %) replaced a group of one by terminating it first."""
    (asg,) = foundation.of_type("aws:autoscaling/group:Group")
    assert asg.inputs["instanceRefresh"] == {
        "strategy": "Rolling",
        "preferences": {"minHealthyPercentage": 100, "maxHealthyPercentage": 200},
    }


def test_app_security_group_admits_nothing(foundation: Graph) -> None:
    (sg,) = foundation.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert not sg.inputs.get("ingress")
    assert [(e["fromPort"], e["toPort"]) for e in sg.inputs["egress"]] == [(443, 443)]


def test_asg_lives_only_in_private_subnets_with_ec2_health_checks(foundation: Graph) -> None:
    (asg,) = foundation.of_type("aws:autoscaling/group:Group")
    private = {
        s.outputs["id"] for s in foundation.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"
    }
    assert set(asg.inputs["vpcZoneIdentifiers"]) == private
    assert asg.inputs["healthCheckType"] == "EC2"
    assert asg.inputs["healthCheckGracePeriod"] == 300
    assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (1, 2, 4)
    assert "targetGroupArns" not in asg.inputs
    assert "GroupInServiceInstances" in asg.inputs["enabledMetrics"]


def test_instance_role_has_ssm_core_and_exactly_its_own_resources(foundation: Graph) -> None:
    (attachment,) = foundation.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    app_policy = next(p for p in foundation.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "use1-app-policy")
    data = "arn:aws:s3:::tapstack-data-use1-123456789012-dev"
    by_sid = {s["Sid"]: s for s in statements(policy(app_policy))}
    assert by_sid["ListDataBucket"]["Resource"] == [data]
    assert by_sid["ReadWriteDataObjects"] == {
        "Sid": "ReadWriteDataObjects",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": [data + "/*"],
    }
    assert by_sid["PutOwnMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "TapStack/dev"}}
    assert by_sid["UseRegionKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}
    }
    assert by_sid["ReadSsmAgentBuckets"] == {
        "Sid": "ReadSsmAgentBuckets",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [
            "arn:aws:s3:::amazon-ssm-us-east-1/*",
            "arn:aws:s3:::aws-ssm-us-east-1/*",
            "arn:aws:s3:::patch-baseline-snapshot-us-east-1/*",
        ],
    }
    assert set(by_sid) == {
        "ListDataBucket",
        "ReadWriteDataObjects",
        "WriteOwnLogs",
        "PutOwnMetrics",
        "ReadSsmAgentBuckets",
        "UseRegionKeyThroughS3",
    }
    trust = next(
        policy(r, "assumeRolePolicy") for r in foundation.of_type("aws:iam/role:Role") if r.name == "use1-app-role"
    )
    # EC2 sends no aws:SourceAccount when it fetches instance-profile credentials: a condition would deny them.
    assert statements(trust) == [
        {
            "Sid": "TrustService",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
        }
    ]


def test_without_the_migration_platform_instances_get_no_agent_and_no_deployment_bucket_access(
    foundation: Graph,
) -> None:
    (lt,) = foundation.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert "userData" not in lt.inputs, "the agent follows a deployment bucket; without one there is nothing to run"


def test_launch_template_installs_the_agent_for_its_regions_deployment_bucket(platform: Graph) -> None:
    templates = platform.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 3
    for lt in templates:
        code = region_code(lt.region)
        expected = render_user_data(region=lt.region, bucket=f"tapstack-deploy-{code}-123456789012-dev")
        assert gzip.decompress(base64.b64decode(lt.inputs["userData"])).decode() == expected


def test_instance_role_reads_releases_and_writes_only_its_own_heartbeat(platform: Graph) -> None:
    for code in ("use1", "usw2", "euw1"):
        app_policy = next(
            p for p in platform.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{code}-app-policy"
        )
        deploy = f"arn:aws:s3:::tapstack-deploy-{code}-123456789012-dev"
        by_sid = {s["Sid"]: s for s in statements(policy(app_policy))}
        assert by_sid["ReadCurrentRelease"] == {
            "Sid": "ReadCurrentRelease",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{deploy}/releases/current.json", f"{deploy}/artifacts/*"],
        }
        assert by_sid["WriteOwnHeartbeat"] == {
            "Sid": "WriteOwnHeartbeat",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{deploy}/fleet/heartbeats/${{aws:userid}}.json"],
        }
        # Listing is limited to the pointer's key: enough for S3 to answer 404 (not 403) before the first release.
        assert by_sid["KnowWhetherAReleaseExists"] == {
            "Sid": "KnowWhetherAReleaseExists",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [deploy],
            "Condition": {"StringEquals": {"s3:prefix": ["releases/current.json"]}},
        }
        on_deploy = [s for s in by_sid.values() if any(deploy in r for r in as_list(s["Resource"]))]
        assert [s["Sid"] for s in on_deploy] == ["KnowWhetherAReleaseExists", "ReadCurrentRelease", "WriteOwnHeartbeat"]


def test_no_allow_statement_anywhere_has_a_wildcard_action(platform: Graph) -> None:
    docs = [
        policy(r, "assumeRolePolicy" if r.type == "aws:iam/role:Role" else "policy")
        for r in platform.aws_resources()
        if r.type
        in (
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/role:Role",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:sns/topicPolicy:TopicPolicy",
        )
    ]
    assert len(docs) == 13 + 13 + 9 + 6  # roles, role policies, bucket policies, topic policies
    for doc in docs:
        for st in statements(doc):
            if st["Effect"] == "Allow":
                assert all(a != "*" and not a.endswith(":*") for a in as_list(st["Action"])), st


def test_every_bucket_is_hardened(platform: Graph) -> None:
    buckets = platform.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 9  # logs, data, deploy in three regions
    for kind, check in {
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": lambda i: all(
            i[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ),
        "aws:s3/bucketVersioning:BucketVersioning": lambda i: i["versioningConfiguration"]["status"] == "Enabled",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": lambda i: (
            i["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        ),
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": lambda i: (
            # a bucket key only serves SSE-KMS: set exactly there
            bool(i["rules"][0].get("bucketKeyEnabled"))
            is (i["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms")
        ),
    }.items():
        targets = {r.inputs["bucket"] for r in platform.of_type(kind) if check(r.inputs)}
        assert targets == {b.outputs["id"] for b in buckets}, kind
    for bp in platform.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        tls = statements(policy(bp))[0]
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert tls["Resource"][0] == f"arn:aws:s3:::{bp.inputs['bucket']}"


def test_log_buckets_use_sse_s3_because_access_logs_cannot_target_kms(platform: Graph) -> None:
    for enc in platform.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        algo = enc.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        assert algo == ("AES256" if "-logs-" in enc.inputs["bucket"] else "aws:kms"), enc.inputs["bucket"]


def test_aws_managed_kms_mode_uses_sse_s3_everywhere(synth: Synth) -> None:
    g = synth(kms="aws-managed", **A_ONLY)
    algos = {
        e.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        for e in g.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    }
    assert algos == {"AES256"}


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_ok(platform: Graph) -> None:
    alarms = platform.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    # per region: cpu high/low, in-service; lambda errors/throttles, failed replies, dead letters;
    # per secondary: replication failed (in the primary) and replication latency (in the secondary)
    assert len(alarms) == 3 * (3 + 4 + 3) + 2 * 2  # per region: compute, migration, rotation; replication
    topics = {t.outputs["arn"] for t in platform.of_type("aws:sns/topic:Topic") if "alarms" in t.inputs["name"]}
    for alarm in alarms:
        region_topic = f"arn:aws:sns:{alarm.region}:123456789012:tapstack-alarms-{alarm.name[:4]}-dev"
        assert region_topic in topics
        assert alarm.inputs["alarmActions"] == [region_topic]
        assert alarm.inputs["okActions"] == [region_topic]


def test_topics_are_encrypted_with_the_region_key(platform: Graph) -> None:
    keys = {k.region: k.outputs["arn"] for k in platform.of_type("aws:kms/key:Key")}
    topics = platform.of_type("aws:sns/topic:Topic")
    assert len(topics) == 6
    assert all(t.inputs["kmsMasterKeyId"] == keys[t.region] for t in topics)
    assert all(k.inputs["enableKeyRotation"] is True for k in platform.of_type("aws:kms/key:Key"))


def test_email_subscription_only_when_configured(synth: Synth) -> None:
    assert not synth(**A_ONLY).of_type("aws:sns/topicSubscription:TopicSubscription")
    subs = synth(alarmEmail="ops@example.com", **A_ONLY).of_type("aws:sns/topicSubscription:TopicSubscription")
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subs] == [("email", "ops@example.com")]


def test_exports_are_flat_and_region_prefixed(foundation: Graph) -> None:
    out = foundation.outputs
    assert out["primary_region"] == "us-east-1"
    assert out["use1_vpc_id"].startswith("vpc-")
    assert len(out["use1_private_subnet_ids"]) == 2
    assert out["use1_data_bucket"] == "tapstack-data-use1-123456789012-dev"


@pytest.mark.parametrize(("secondary", "region"), [("usw2", "us-west-2"), ("euw1", "eu-west-1")])
def test_each_secondary_has_replication_alarms_where_s3_publishes_their_metrics(
    platform: Graph, secondary: str, region: str
) -> None:
    alarms = {a.inputs["name"]: a for a in platform.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    topic = {
        t.region: t.outputs["arn"] for t in platform.of_type("aws:sns/topic:Topic") if "alarms" in t.inputs["name"]
    }
    dims = {
        "SourceBucket": "tapstack-deploy-use1-123456789012-dev",
        "DestinationBucket": f"tapstack-deploy-{secondary}-123456789012-dev",
        "RuleId": f"to-{region}",
    }
    failed = alarms[f"tapstack-replication-failed-{secondary}-use1-dev"]
    assert failed.region == "us-east-1"
    assert {k: failed.inputs[k] for k in ("namespace", "metricName", "dimensions", "statistic", "threshold")} == {
        "namespace": "AWS/S3",
        "metricName": "OperationsFailedReplication",
        "dimensions": dims,
        "statistic": "Sum",
        "threshold": 0,
    }
    assert failed.inputs["alarmActions"] == failed.inputs["okActions"] == [topic["us-east-1"]]
    latency = alarms[f"tapstack-replication-latency-{secondary}-dev"]
    assert latency.region == region
    assert {k: latency.inputs[k] for k in ("namespace", "metricName", "dimensions", "statistic", "threshold")} == {
        "namespace": "AWS/S3",
        "metricName": "ReplicationLatency",
        "dimensions": dims,
        "statistic": "Maximum",
        "threshold": 900,
    }
    assert latency.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert latency.inputs["alarmActions"] == latency.inputs["okActions"] == [topic[region]]
    rules = {
        r["id"]
        for c in platform.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
        for r in c.inputs["rules"]
    }
    assert dims["RuleId"] in rules
