"""System B under mocks: secrets, buckets, replication, the migration function and its least-privilege role."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import botocore
import pytest

from tapstack.components import lambda_package
from tapstack.components.migration import HANDLER_DIR
from tapstack.config import ConfigError
from tapstack.graph import Graph, Resource
from tapstack.lib.aws_iam_facts import UNSCOPED_ACTIONS
from tapstack.lib.naming import NameKind
from tapstack.lib.regions import region_code
from tapstack.program import main as program
from tapstack.synth import synthesize
from tests.helpers import Synth, as_list, policy, statements

TOKEN = "synth-token-value-0123456789"
FUNCTION = "aws:lambda/function:Function"
SECONDARY_DEPLOY = {
    "us-west-2": "tapstack-deploy-usw2-123456789012-dev",
    "eu-west-1": "tapstack-deploy-euw1-123456789012-dev",
}


def by_name(graph: Graph, name: str):
    (match,) = [r for r in graph if r.name == name]
    return match


def migration_functions(graph: Graph) -> list[Resource]:
    return [f for f in graph.of_type(FUNCTION) if f.inputs["handler"] == "handler.app.handler"]


def test_replication_has_one_rule_per_secondary_with_rtc_and_delete_markers(platform: Graph) -> None:
    (config,) = platform.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert config.region == "us-east-1"
    assert config.inputs["bucket"] == "tapstack-deploy-use1-123456789012-dev"
    rules = config.inputs["rules"]
    assert sorted(r["destination"]["bucket"] for r in rules) == sorted(
        f"arn:aws:s3:::{b}" for b in SECONDARY_DEPLOY.values()
    )
    assert sorted(r["priority"] for r in rules) == [1, 2]
    for rule in rules:
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {"prefix": "artifacts/"}, "migration state must stay regional"
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
        assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert rule["destination"]["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
        assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"] == {"status": "Enabled"}
        assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"].startswith("arn:aws:kms:")


def test_replication_waits_for_versioning_on_both_sides(platform: Graph) -> None:
    (config,) = platform.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    versioning = {r.urn for r in platform.of_type("aws:s3/bucketVersioning:BucketVersioning") if "-deploy-" in r.name}
    assert len(versioning) == 3
    assert versioning <= set(config.dependencies)


def test_replication_role_is_scoped_to_source_and_destinations(platform: Graph) -> None:
    role_policy = by_name(platform, "use1-replication-policy")
    buckets: set[str] = set()
    for st in statements(policy(role_policy)):
        for res in as_list(st["Resource"]):
            if res.startswith("arn:aws:s3:::"):
                buckets.add(res.removeprefix("arn:aws:s3:::").removesuffix("/*"))
        assert st["Effect"] == "Allow"
    assert buckets == {"tapstack-deploy-use1-123456789012-dev", *SECONDARY_DEPLOY.values()}


def test_replication_role_decrypts_the_source_and_encrypts_and_decrypts_with_each_replica_key(
    platform: Graph,
) -> None:
    """Replica buckets use an S3 Bucket Key, which S3 checks with a kms:Decrypt as the replication role: with
    kms:Encrypt alone every replica would be FAILED (S3 User Guide, "Replicating encrypted objects")."""
    by_sid = {s["Sid"]: s for s in statements(policy(by_name(platform, "use1-replication-policy")))}
    keys = {k.region: k.outputs["arn"] for k in platform.of_type("aws:kms/key:Key")}
    assert (by_sid["DecryptSource"]["Action"], by_sid["DecryptSource"]["Resource"]) == (
        ["kms:Decrypt"],
        [keys["us-east-1"]],
    )
    replicas = {sid: st for sid, st in by_sid.items() if sid.startswith("EncryptReplica")}
    assert sorted(r for st in replicas.values() for r in st["Resource"]) == sorted(
        [keys["us-west-2"], keys["eu-west-1"]]
    )
    for st in replicas.values():
        (region,) = [r for r, arn in keys.items() if st["Resource"] == [arn]]
        assert st["Action"] == ["kms:Encrypt", "kms:Decrypt"]
        assert st["Condition"] == {"StringEquals": {"kms:ViaService": [f"s3.{region}.amazonaws.com"]}}


def test_the_token_seed_is_not_labelled_awscurrent_so_a_rewrite_never_restores_it(platform: Graph) -> None:
    """Secrets Manager makes a secret's first version AWSCURRENT whatever its labels; a version written later
    with only the seed label (terraform-provider-aws#37302: the provider drops a version Secrets Manager removed,
    and the next up writes it again) leaves the rotated token current."""
    versions = platform.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert [v.inputs["versionStages"] for v in versions] == [["TAPSTACK_SEED"]] * 3


def test_one_region_has_no_replication_resources(synth: Synth) -> None:
    g = synth(regions=["eu-west-1"])
    assert not g.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert not [r for r in g if "replication" in r.name]
    env = migration_functions(g)[0].inputs["environment"]["variables"]
    assert env["TAPSTACK_REPLICA_BUCKETS"] == "[]"


def test_migration_only_stack_has_no_network_or_compute(synth: Synth) -> None:
    g = synth(features={"compute": False, "migration": True})
    types = {r.type for r in g.aws_resources()}
    assert "aws:ec2/vpc:Vpc" not in types and "aws:autoscaling/group:Group" not in types
    (fn,) = migration_functions(g)
    assert fn.inputs["environment"]["variables"]["TAPSTACK_ASG_NAME"] == "", "no fleet to check without compute"
    sids = [s["Sid"] for s in statements(policy(by_name(g, "use1-migration-policy")))]
    assert "DescribeFleet" not in sids, "no Auto Scaling permission without a group"


def test_config_parameter_is_a_secure_string_with_the_settings(platform: Graph) -> None:
    params = platform.of_type("aws:ssm/parameter:Parameter")
    assert len(params) == 3
    for p in params:
        assert p.inputs["type"] == "SecureString"
        assert p.inputs["name"] == f"/tapstack/dev/{region_code(p.region)}/migration/config"
        assert p.inputs["value"] == "[secret]"
        assert p.inputs["keyId"].startswith(f"arn:aws:kms:{p.region}:")


def test_secret_value_comes_from_config_secret_and_never_appears_in_the_graph(platform: Graph) -> None:
    versions = platform.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 3
    assert all(v.inputs["secretString"] == "[secret]" for v in versions)
    assert TOKEN not in json.dumps(platform.to_dict())
    arns = {k: v for k, v in platform.outputs.items() if k.endswith("_secret_arn")}
    assert len(arns) == 3, "the ARN names the secret, it is not its value: operators see it"
    assert all(v.startswith("arn:aws:secretsmanager:") for v in arns.values())


def test_lambda_environment_carries_names_and_arns_only(platform: Graph) -> None:
    functions = migration_functions(platform)
    assert len(functions) == 3
    for fn in functions:
        env = fn.inputs["environment"]["variables"]
        assert set(env) == {
            "TAPSTACK_REGION",
            "TAPSTACK_ROLE",
            "TAPSTACK_DEPLOYMENT_BUCKET",
            "TAPSTACK_CONFIG_PARAMETER",
            "TAPSTACK_SECRET_ARN",
            "TAPSTACK_TOPIC_ARN",
            "TAPSTACK_REPLICA_BUCKETS",
            "TAPSTACK_ASG_NAME",
            "TAPSTACK_FLEET_GRACE_SECONDS",
        }
        assert env["TAPSTACK_ASG_NAME"] == f"tapstack-app-{region_code(fn.region)}-dev"
        assert env["TAPSTACK_FLEET_GRACE_SECONDS"] == "300"
        assert TOKEN not in json.dumps(env)
        assert env["TAPSTACK_SECRET_ARN"].startswith(f"arn:aws:secretsmanager:{fn.region}:")
        primary = fn.region == "us-east-1"
        assert env["TAPSTACK_ROLE"] == ("primary" if primary else "secondary")
        expected = sorted(SECONDARY_DEPLOY.values()) if primary else []
        assert sorted(json.loads(env["TAPSTACK_REPLICA_BUCKETS"])) == expected
        assert fn.inputs["runtime"] == "python3.12"
        assert fn.inputs["tracingConfig"] == {"mode": "Active"}
        assert fn.inputs["timeout"] == 60 and fn.inputs["memorySize"] == 256
        code = region_code(fn.region)
        assert fn.inputs["deadLetterConfig"] == {
            "targetArn": f"arn:aws:sqs:{fn.region}:123456789012:tapstack-migration-dlq-{code}-dev"
        }
        assert fn.inputs["kmsKeyArn"].startswith(f"arn:aws:kms:{fn.region}:")
        assert "reservedConcurrentExecutions" not in fn.inputs, "a reservation is opt-in (the account quota)"


def test_a_configured_reservation_reaches_every_migration_function(synth: Synth) -> None:
    g = synth(migrationReservedConcurrency=3)
    functions = migration_functions(g)
    assert functions and {fn.inputs["reservedConcurrentExecutions"] for fn in functions} == {3}


def test_lambda_archive_holds_the_handler_and_the_installed_boto3(platform: Graph) -> None:
    """S3 conditional writes need a newer botocore than a Lambda runtime may bundle: the archive brings its own."""
    fn = migration_functions(platform)[0]
    assert fn.inputs["handler"] == "handler.app.handler"
    archive = Path(fn.inputs["code"]["path"])
    files = {p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file()}
    assert {f for f in files if f.startswith("handler/")} == {f"handler/{p.name}" for p in HANDLER_DIR.glob("*.py")}
    assert "botocore/__init__.py" in files and "boto3/__init__.py" in files
    metadata = (archive / f"botocore-{botocore.__version__}.dist-info" / "METADATA").read_text()
    assert f"Version: {botocore.__version__}" in metadata, "the archive carries the botocore the tests ran with"
    models = {f.split("/")[2] for f in files if f.startswith("botocore/data/") and f.count("/") > 2}
    assert models == {"autoscaling", "ec2", "s3", "secretsmanager", "sns", "ssm"}
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_lambda_archive_s3_model_sends_conditional_writes(platform: Graph) -> None:
    archive = Path(migration_functions(platform)[0].inputs["code"]["path"])
    (model,) = (archive / "botocore" / "data" / "s3").glob("*/service-2.json*")
    raw = model.read_bytes()
    text = gzip.decompress(raw) if model.suffix == ".gz" else raw
    members = json.loads(text)["shapes"]["PutObjectRequest"]["members"]
    assert {"IfNoneMatch", "IfMatch"} <= set(members)


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Path], list[int], list[int]]:
    """A function's own file and counters of what a call costs: distributions listed, archives hashed."""
    own = {"handler/app.py": tmp_path / "app.py"}
    own["handler/app.py"].write_text("def handler(event, context):\n    return event\n")
    listed: list[int] = []
    hashed: list[int] = []
    vendored, digest = lambda_package.vendored_files, lambda_package._digest
    monkeypatch.setattr(lambda_package, "vendored_files", lambda s: listed.append(1) or vendored(s))
    monkeypatch.setattr(lambda_package, "_digest", lambda files: hashed.append(len(files)) or digest(files))
    monkeypatch.setattr(lambda_package, "build_root", lambda: tmp_path / "build")
    monkeypatch.setattr(lambda_package, "_ASSEMBLED", {})
    return own, listed, hashed


def test_every_regions_function_ships_one_archive_hashed_once_and_rebuilt_when_removed(
    probe: tuple[dict[str, Path], list[int], list[int]],
) -> None:
    own, _, hashed = probe
    first, second = (lambda_package.function_archive("probe", own, ["s3"]) for _ in range(2))
    assert first.path == second.path and len(hashed) == 1
    shutil.rmtree(first.path)
    third = lambda_package.function_archive("probe", own, ["s3"])
    assert third.path == first.path and len(hashed) == 2 and Path(third.path, "handler", "app.py").is_file()
    assert lambda_package.function_archive("probe", own, ["s3", "sns"]).path != first.path


def _next_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lambda_package, "_ASSEMBLED", {})


def test_a_later_process_finds_the_archive_through_the_index_without_listing_or_hashing(
    probe: tuple[dict[str, Path], list[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    own, listed, hashed = probe
    first = lambda_package.function_archive("probe", own, ["s3"]).path
    _next_process(monkeypatch)
    assert lambda_package.function_archive("probe", own, ["s3"]).path == first
    assert (len(listed), len(hashed)) == (1, 1)


def test_an_indexed_file_changed_since_makes_the_next_process_assemble_its_new_content(
    probe: tuple[dict[str, Path], list[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    own, listed, hashed = probe
    first = lambda_package.function_archive("probe", own, ["s3"]).path
    own["handler/app.py"].write_text("def handler(event, context):\n    return None\n")
    _next_process(monkeypatch)
    second = lambda_package.function_archive("probe", own, ["s3"]).path
    assert second != first and (len(listed), len(hashed)) == (2, 2)
    assert "return None" in Path(second, "handler", "app.py").read_text()
    os.utime(own["handler/app.py"], ns=(0, 0))  # same content, touched: listed and hashed again, same directory
    _next_process(monkeypatch)
    assert lambda_package.function_archive("probe", own, ["s3"]).path == second and len(hashed) == 3


def test_another_boto3_version_or_other_services_are_not_taken_from_the_index(
    probe: tuple[dict[str, Path], list[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    own, listed, _ = probe
    first = lambda_package.function_archive("probe", own, ["s3"]).path
    _next_process(monkeypatch)
    assert lambda_package.function_archive("probe", own, ["s3", "sns"]).path != first and len(listed) == 2
    installed = lambda_package.importlib.metadata.version
    monkeypatch.setattr(
        lambda_package.importlib.metadata, "version", lambda d: "9.9.9" if d == "boto3" else installed(d)
    )
    _next_process(monkeypatch)
    lambda_package.function_archive("probe", own, ["s3"])
    assert len(listed) == 3, "an upgraded boto3 may ship files the indexed list lacks"


def test_a_vendored_distribution_not_installed_is_named_in_the_packaging_error(
    probe: tuple[dict[str, Path], list[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    own, _, _ = probe
    lambda_package.function_archive("probe", own, ["s3"])
    metadata = lambda_package.importlib.metadata
    distribution, version = metadata.distribution, metadata.version

    def missing(real: Any) -> Any:
        def lookup(name: str) -> Any:
            if name == "jmespath":
                raise metadata.PackageNotFoundError(name)
            return real(name)

        return lookup

    monkeypatch.setattr(metadata, "distribution", missing(distribution))
    monkeypatch.setattr(metadata, "version", missing(version))
    _next_process(monkeypatch)
    with pytest.raises(lambda_package.PackagingError, match=r"^jmespath is not installed: it is packaged with the"):
        lambda_package.function_archive("probe", own, ["s3"])


def test_a_service_botocore_has_no_model_for_is_named_in_the_packaging_error(
    probe: tuple[dict[str, Path], list[int], list[int]],
) -> None:
    own, _, _ = probe
    with pytest.raises(lambda_package.PackagingError, match=r"^the installed botocore has no model for nosuchservice$"):
        lambda_package.function_archive("probe", own, ["s3", "nosuchservice"])


@pytest.mark.parametrize("index_text", ["", "{not json", '{"key": 1}', '{"key": null, "files": 3}'])
def test_an_unreadable_index_costs_an_assembly_and_is_written_anew(
    probe: tuple[dict[str, Path], list[int], list[int]], monkeypatch: pytest.MonkeyPatch, index_text: str
) -> None:
    own, listed, _ = probe
    first = lambda_package.function_archive("probe", own, ["s3"]).path
    index = Path(first).parent / "probe.index.json"
    index.write_text(index_text)
    _next_process(monkeypatch)
    assert lambda_package.function_archive("probe", own, ["s3"]).path == first and len(listed) == 2
    _next_process(monkeypatch)
    lambda_package.function_archive("probe", own, ["s3"])
    assert len(listed) == 2, "the index written again should have served the third process"


def test_lambda_role_statements_are_concrete_and_regional(platform: Graph) -> None:
    for region, code in (("us-east-1", "use1"), ("eu-west-1", "euw1")):
        doc = policy(by_name(platform, f"{code}-migration-policy"))
        by_sid = {s["Sid"]: s for s in statements(doc)}
        bucket = f"arn:aws:s3:::tapstack-deploy-{code}-123456789012-dev"
        control = [f"{bucket}/{prefix}/*" for prefix in ("releases", "migrations", "rollbacks", "locks")]
        assert by_sid["WriteControlObjects"] == {
            "Sid": "WriteControlObjects",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": control,
        }
        assert by_sid["ReadReleasesAndHeartbeats"] == {
            "Sid": "ReadReleasesAndHeartbeats",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{bucket}/artifacts/*", f"{bucket}/fleet/heartbeats/*", *control],
        }
        assert by_sid["DescribeFleet"] == {
            "Sid": "DescribeFleet",
            "Effect": "Allow",
            "Action": ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
            "Resource": ["*"],
        }
        s3_actions = sorted(a for st in doc["Statement"] for a in as_list(st["Action"]) if a.startswith("s3:"))
        assert not [a for a in s3_actions if "Delete" in a], "the function never deletes: the lock is a document"
        assert len(doc["Statement"]) == 12
        assert by_sid["ReadMigrationConfig"]["Resource"] == [
            f"arn:aws:ssm:{region}:123456789012:parameter/tapstack/dev/{code}/migration/config"
        ]
        assert by_sid["NotifyDeployments"]["Resource"] == [
            f"arn:aws:sns:{region}:123456789012:tapstack-deployments-{code}-dev"
        ]
        kms = by_sid["UseRegionKeyThroughServices"]
        assert kms["Resource"][0].startswith(f"arn:aws:kms:{region}:")
        assert f"ssm.{region}.amazonaws.com" in kms["Condition"]["StringEquals"]["kms:ViaService"]
        replication_read = "s3:GetReplicationConfiguration" in by_sid["InspectDeploymentBucket"]["Action"]
        assert replication_read == (region == "us-east-1")
        for st in doc["Statement"]:
            if "*" in as_list(st["Resource"]):
                assert set(st["Action"]) <= set(UNSCOPED_ACTIONS), st


def test_log_bucket_accepts_access_logs_only_from_its_region_sources(platform: Graph) -> None:
    doc = policy(by_name(platform, "usw2-logs-policy"))
    grant = next(s for s in doc["Statement"] if s["Sid"] == "S3ServerAccessLogsDelivery")
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert sorted(grant["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        "arn:aws:s3:::tapstack-data-usw2-123456789012-dev",
        "arn:aws:s3:::tapstack-deploy-usw2-123456789012-dev",
    ]
    logging = [r for r in platform.of_type("aws:s3/bucketLogging:BucketLogging") if r.region == "us-west-2"]
    assert {r.inputs["targetBucket"] for r in logging} == {"tapstack-logs-usw2-123456789012-dev"}


def test_key_policy_names_the_roles_and_grants_kms_star_only_to_root(platform: Graph) -> None:
    key = next(k for k in platform.of_type("aws:kms/key:Key") if k.region == "us-west-2")
    (full,) = [p for p in platform.of_type("aws:kms/keyPolicy:KeyPolicy") if p.region == "us-west-2"]
    assert full.inputs["keyId"] == key.outputs["keyId"]
    assert "bypassPolicyLockoutSafetyCheck" not in full.inputs
    doc = policy(full)
    root_admin = {
        "Sid": "EnableAccountRootAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": ["kms:*"],
        "Resource": "*",
    }
    assert doc["Statement"][0] == root_admin  # never lock the account out of its key
    assert [s for s in doc["Statement"] if "kms:*" in s["Action"]] == [root_admin]
    cloudwatch = next(s for s in doc["Statement"] if s["Sid"] == "AllowCloudWatchAlarmsToPublishEncrypted")
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-west-2:123456789012:alarm:*"},
    }
    users = next(s for s in doc["Statement"] if s["Sid"] == "AllowStackRolesToUseKey")
    assert "Condition" not in users
    assert users["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    assert sorted(users["Principal"]["AWS"]) == [
        "arn:aws:iam::123456789012:role/tapstack-instance-usw2-dev",
        "arn:aws:iam::123456789012:role/tapstack-migration-usw2-dev",
        "arn:aws:iam::123456789012:role/tapstack-replication-use1-dev",
        "arn:aws:iam::123456789012:role/tapstack-rotation-usw2-dev",
    ]
    roles = {r.outputs["arn"]: r.urn for r in platform.of_type("aws:iam/role:Role")}
    assert {roles[arn] for arn in users["Principal"]["AWS"]} <= set(full.dependencies), "written after the roles"


def test_the_key_is_created_with_the_policy_its_first_users_need_and_leaves_it_to_the_key_policy(
    platform: Graph,
) -> None:
    key = next(k for k in platform.of_type("aws:kms/key:Key") if k.region == "us-west-2")
    (full,) = [p for p in platform.of_type("aws:kms/keyPolicy:KeyPolicy") if p.region == "us-west-2"]
    first = policy(key)
    assert [s["Sid"] for s in first["Statement"]] == [
        "EnableAccountRootAdministration",
        "AllowCloudWatchAlarmsToPublishEncrypted",
        "AllowCloudWatchLogsForStackLogGroups",
    ]
    assert [s for s in policy(full)["Statement"] if s["Sid"] != "AllowStackRolesToUseKey"] == first["Statement"]


def test_topic_policies_allow_only_this_account(platform: Graph) -> None:
    for tp in platform.of_type("aws:sns/topicPolicy:TopicPolicy"):
        for st in statements(policy(tp)):
            principal = st["Principal"]
            assert principal in ({"AWS": "arn:aws:iam::123456789012:root"}, {"Service": "cloudwatch.amazonaws.com"})
            if "Service" in principal:
                assert st["Condition"] == {
                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{tp.region}:123456789012:alarm:*"},
                }


def test_names_are_unique_and_within_limits_for_a_long_suffix_everywhere(synth: Synth) -> None:
    regions = ["ap-southeast-2", "ap-northeast-1", "eu-central-1"]
    g = synth(regions=regions, environmentSuffix="pr-1234-feature-x", project="platform-team")
    limits = {
        "aws:s3/bucket:Bucket": ("bucket", NameKind.BUCKET),
        "aws:iam/role:Role": ("name", NameKind.IAM_ROLE),
        "aws:lambda/function:Function": ("name", NameKind.LAMBDA),
        "aws:iam/instanceProfile:InstanceProfile": ("name", NameKind.INSTANCE_PROFILE),
        "aws:sns/topic:Topic": ("name", NameKind.SNS_TOPIC),
        "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", NameKind.ALARM),
    }
    for typ, (field, kind) in limits.items():
        names = [r.inputs[field] for r in g.of_type(typ)]
        assert names, typ
        assert all(len(n) <= kind.limit and n.endswith("-pr-1234-feature-x") for n in names), names
    physical = Counter(
        (
            r.type,
            r.region if r.type != "aws:iam/role:Role" else "global",
            r.inputs.get("name") or r.inputs.get("bucket"),
        )
        for r in g.aws_resources()
        if r.inputs.get("name") or r.type == "aws:s3/bucket:Bucket"
    )
    assert [k for k, n in physical.items() if n > 1] == []
    assert len({r.urn for r in g}) == len(list(g))


def test_migration_requires_a_secret_token() -> None:
    with pytest.raises(ConfigError, match=r"tapstack:migrationToken: got None; required .* config set --secret"):
        synthesize(program, {"tapstack:regions": ["us-east-1"]})


def test_failed_replies_are_counted_from_the_logs_and_alarmed(platform: Graph) -> None:
    """The handler answers failures instead of raising, so Lambda's Errors metric alone would stay silent."""
    filters = platform.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert len(filters) == 3
    for f in filters:
        code = region_code(f.region)
        assert f.inputs["logGroupName"] == f"/aws/lambda/tapstack-migration-{code}-dev"
        assert f.inputs["pattern"] == '{ ($.event = "invocation") && ($.status >= 500) }'
        metric = f.inputs["metricTransformation"]
        (alarm,) = [
            a
            for a in platform.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
            if a.inputs.get("metricName") == metric["name"] and a.region == f.region
        ]
        assert alarm.inputs["namespace"] == metric["namespace"] == "TapStack/dev"
        assert alarm.inputs["name"] == f"tapstack-failed-replies-{code}-dev"
        assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_trust_policy_is_limited_to_this_accounts_requests(platform: Graph) -> None:
    """No confused deputy: each service may assume its role only for this account (and resource, where sent)."""
    trusts = {r.inputs["name"]: policy(r, "assumeRolePolicy") for r in platform.of_type("aws:iam/role:Role")}
    assert len(trusts) == 13
    account = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    for name, doc in trusts.items():
        (st,) = statements(doc)
        service = st["Principal"]["Service"]
        expected = {
            "ec2.amazonaws.com": None,  # lib/iam.TRUST_WITHOUT_SOURCE_ACCOUNT: EC2 does not send the key
            "lambda.amazonaws.com": account,
            "vpc-flow-logs.amazonaws.com": {
                **account,
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{_region_of(name)}:123456789012:vpc-flow-log/*"},
            },
            "s3.amazonaws.com": {
                **account,
                "ArnLike": {"aws:SourceArn": "arn:aws:s3:::tapstack-deploy-use1-123456789012-dev"},
            },
        }[service]
        assert (st["Action"], st.get("Condition")) == (["sts:AssumeRole"], expected), name


def _region_of(role_name: str) -> str:
    code = role_name.split("-")[-2]
    return {"use1": "us-east-1", "usw2": "us-west-2", "euw1": "eu-west-1"}[code]
