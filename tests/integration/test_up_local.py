"""What `tapstack up --local` reports and writes, checked against what the emulator holds."""

from __future__ import annotations

from collections import Counter

from tests.conftest import example_config, run_synth
from tests.integration.conftest import PRIMARY, SECONDARY, Deployed


def test_every_planned_resource_is_deployed_and_counted_per_region(deployed: Deployed) -> None:
    planned = run_synth(example_config("two-region"))
    expected = Counter(r.region for r in planned.aws_resources())
    assert deployed.summary["resources_per_region"] == dict(expected)
    assert deployed.summary["resources"] == len(planned.aws_resources())


def test_the_post_deploy_checks_validated_both_regions(deployed: Deployed) -> None:
    checks = {(c["region"], c["name"]): c for c in deployed.summary["checks"]}
    assert set(checks) == {(PRIMARY, "validate"), (SECONDARY, "validate")}
    assert all(c["passed"] for c in checks.values()), checks
    assert checks[(PRIMARY, "validate")]["detail"] == "all 7 checks passed"  # with replication
    assert checks[(SECONDARY, "validate")]["detail"] == "all 6 checks passed"
    assert deployed.summary["passed"] is True


def test_the_outputs_file_holds_the_emulators_ids_with_secrets_redacted(deployed: Deployed) -> None:
    outputs = deployed.outputs
    assert outputs["regions"] == [PRIMARY, SECONDARY]
    vpcs = deployed.aws("ec2").describe_vpcs(VpcIds=[outputs["use1_vpc_id"]])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.0.0.0/16"]
    assert outputs["use1_secret_arn"] == "[secret]"
    function = deployed.function(PRIMARY)
    assert function.arn == outputs["use1_function_arn"]
    assert function.environment["TAPSTACK_DEPLOYMENT_BUCKET"] == outputs["use1_deployment_bucket"]
    assert function.environment["TAPSTACK_REPLICA_BUCKETS"] == f'["{outputs["euw1_deployment_bucket"]}"]'
