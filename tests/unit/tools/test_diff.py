"""`tapstack diff`: each class of change on graphs, the replacement table, the rollout notes, and the command."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapstack import resource_types as types
from tapstack.cli import main
from tapstack.diff import Action, Change, Refresh, diff
from tapstack.graph import Graph, Resource
from tests.helpers import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden"
PLATFORM_STACK = EXAMPLES / "platform" / "Pulumi.dev.yaml"
STATEFUL = {types.BUCKET, types.BUCKET_V2, types.KMS_KEY, types.SECRET, types.PARAMETER, types.LOG_GROUP, types.QUEUE}


def _platform() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "platform.dev.json").read_text())["graph"]
    return data


PLATFORM = _platform()


def _edited(edit: Callable[[dict[str, Any]], None], base: dict[str, Any] = PLATFORM) -> Graph:
    data = copy.deepcopy(base)
    edit(data)
    return Graph.from_dict(data)


def _one(data: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["resources"] if r["type"] == type_ and r["name"] == name)
    return found


def _set(type_: str, name: str, /, **inputs: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        _one(data, type_, name)["inputs"].update(inputs)

    return edit


def _by_name(changes: tuple[Change, ...]) -> dict[str, Change]:
    return {c.name: c for c in changes}


def test_identical_graphs_have_no_changes() -> None:
    result = diff(Graph.from_dict(PLATFORM), Graph.from_dict(PLATFORM))
    custom = sum(1 for r in PLATFORM["resources"] if r["custom"])
    assert (result.changes, result.unchanged, result.destructive) == ((), custom, [])


def test_an_instance_type_change_updates_the_launch_template_in_place() -> None:
    result = diff(
        Graph.from_dict(PLATFORM), _edited(_set(types.LAUNCH_TEMPLATE, "use1-app-lt", instanceType="t3.large"))
    )
    template = _by_name(result.changes)["use1-app-lt"]
    assert (template.action, template.properties, template.replaces_because) == (
        Action.UPDATE,
        ("instanceType",),
        (),
    )
    assert result.summary()["replace"] == 0


def _lone(type_: str, inputs: dict[str, Any]) -> Graph:
    resource = Resource(f"urn:pulumi:dev::p::{type_}::r", type_, "r", "us-east-1", inputs=inputs, outputs={"id": "r-1"})
    return Graph("dev", [resource])


TABLE = [(token, prop) for token, t in sorted(types.TYPES.items()) if t.replaced_by for prop in t.replaced_by.props]


@pytest.mark.parametrize(("token", "prop"), TABLE, ids=[f"{types.short_type(t)}.{p}" for t, p in TABLE])
def test_every_table_entry_replaces_its_resource_and_is_named_as_the_cause(token: str, prop: str) -> None:
    [change] = diff(_lone(token, {prop: "before", "other": 1}), _lone(token, {prop: "after", "other": 1})).changes
    assert (change.action, change.replaces_because, change.properties) == (Action.REPLACE, (prop,), (prop,))


@pytest.mark.parametrize("token", sorted(types.TYPES))
def test_an_input_outside_the_table_updates_in_place(token: str) -> None:
    [change] = diff(_lone(token, {"tags": {"a": "1"}}), _lone(token, {"tags": {"a": "2"}})).changes
    assert (change.action, change.properties) == (Action.UPDATE, ("tags",))


def test_every_aws_type_an_example_registers_has_a_replacement_entry_citing_the_provider_docs() -> None:
    used = {
        r["type"]
        for golden in GOLDEN.glob("*.json")
        for r in json.loads(golden.read_text())["graph"]["resources"]
        if r["type"].startswith("aws:")
    }
    missing = sorted(t for t in used if types.TYPES[t].replaced_by is None)
    assert missing == [], f"add replaced_by=_forces(...) to these types in resource_types.py: {missing}"
    for token in used:
        entry = types.TYPES[token].replaced_by
        assert entry is not None and entry.doc.startswith("aws_")
        assert (
            entry.url == f"https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/{entry.doc[4:]}"
        )


def test_the_stateful_types_are_exactly_buckets_keys_secrets_parameters_log_groups_and_queues() -> None:
    assert {t for t, entry in types.TYPES.items() if entry.holds} == STATEFUL


def test_a_removed_resource_is_deleted() -> None:
    def drop(data: dict[str, Any]) -> None:
        data["resources"].remove(_one(data, types.ALARM, "use1-app-alarms-cpu-high"))

    [change] = diff(Graph.from_dict(PLATFORM), _edited(drop)).changes
    assert (change.action, change.name, change.destructive) == (Action.DELETE, "use1-app-alarms-cpu-high", False)


def test_a_new_resource_is_created() -> None:
    def add(data: dict[str, Any]) -> None:
        extra = copy.deepcopy(_one(data, types.ALARM, "use1-app-alarms-cpu-high"))
        extra.update(name="use1-app-alarms-cpu-extreme", urn=extra["urn"].replace("cpu-high", "cpu-extreme"))
        data["resources"].append(extra)

    [change] = diff(Graph.from_dict(PLATFORM), _edited(add)).changes
    assert (change.action, change.name, change.properties) == (Action.CREATE, "use1-app-alarms-cpu-extreme", ())


def _moved(data: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    """The resource under a new parent (a new URN), answering to its old URN through an alias."""
    resource = _one(data, type_, name)
    old = resource["urn"]
    resource["urn"] = old.replace("::tapstack::", "::tapstack::tapstack:region:Elsewhere$", 1)
    resource["aliases"] = [old]
    return resource


def test_a_resource_moved_under_an_alias_is_no_change() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(lambda d: _moved(d, types.BUCKET, "use1-deploy")))
    assert result.changes == ()


def test_a_moved_resource_without_its_alias_is_deleted_and_created() -> None:
    def move(data: dict[str, Any]) -> None:
        _moved(data, types.BUCKET, "use1-deploy")["aliases"] = []

    result = diff(Graph.from_dict(PLATFORM), _edited(move))
    bucket = [c for c in result.changes if c.name == "use1-deploy"]
    assert sorted(c.action.value for c in bucket) == ["create", "delete"]
    assert [c.name for c in result.destructive] == ["use1-deploy"]


def test_a_moved_resource_that_also_changes_is_updated_not_recreated() -> None:
    def move(data: dict[str, Any]) -> None:
        _moved(data, types.ALARM, "use1-app-alarms-cpu-high")["inputs"]["threshold"] = 95.0

    [change] = diff(Graph.from_dict(PLATFORM), _edited(move)).changes
    assert (change.action, change.properties) == (Action.UPDATE, ("threshold",))


def test_switching_on_object_lock_replaces_the_deployment_bucket_and_names_the_data_at_risk() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(types.BUCKET, "use1-deploy", objectLockEnabled=True)))
    [destructive] = result.destructive
    assert (destructive.name, destructive.action, destructive.replaces_because) == (
        "use1-deploy",
        Action.REPLACE,
        ("objectLockEnabled",),
    )
    assert destructive.notes[0] == (
        "destroys the data it holds: deployment bucket: every release's artifacts and migration records"
    )


def test_a_replaced_bucket_replaces_the_companions_its_name_forces() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(types.BUCKET, "use1-deploy", objectLockEnabled=True)))
    changes = _by_name(result.changes)
    versioning = changes["use1-deploy-versioning"]
    assert (versioning.action, versioning.replaces_because) == (Action.REPLACE, ("bucket",))
    assert versioning.notes == ("bucket names s3:Bucket use1-deploy, which is replaced",)
    assert changes["use1-migration-policy"].action is Action.UPDATE  # a policy names it, but updates in place
    assert "use1-data" not in changes


def test_a_vpc_cidr_change_replaces_the_vpc_and_every_subnet_in_it() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(types.VPC, "usw2-net-vpc", cidrBlock="10.9.0.0/16")))
    replaced = {c.name: c.replaces_because for c in result.changes if c.action is Action.REPLACE}
    assert replaced["usw2-net-vpc"] == ("cidrBlock",)
    subnets = {r["name"] for r in PLATFORM["resources"] if r["type"] == types.SUBNET and r["region"] == "us-west-2"}
    assert {n: replaced[n] for n in subnets} == {n: ("vpcId",) for n in subnets}
    assert all(c.region == "us-west-2" for c in result.changes if c.action is Action.REPLACE)
    assert result.destructive == []


@pytest.mark.parametrize(
    ("type_", "name", "prop", "value"),
    [
        (types.KMS_KEY, "euw1-key-key", "multiRegion", True),
        (types.SECRET, "euw1-secrets-token", "name", "tapstack-token-euw1-dev"),
        (types.PARAMETER, "euw1-secrets-config", "name", "/tapstack/dev/euw1/other"),
        (types.LOG_GROUP, "euw1-app-logs", "name", "/tapstack/app2/euw1/dev"),
        (types.QUEUE, "euw1-migration-dlq", "name", "tapstack-dlq2-euw1-dev"),
    ],
)
def test_replacing_any_stateful_type_is_destructive(type_: str, name: str, prop: str, value: Any) -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(type_, name, **{prop: value})))
    assert [(c.name, c.replaces_because) for c in result.destructive] == [(name, (prop,))]
    assert result.destructive[0].notes[0].startswith(f"destroys the data it holds: {types.title(type_)} {name}: ")


def _preferences_of_use1(data: dict[str, Any], **preferences: float) -> None:
    _one(data, types.ASG, "use1-app-asg")["inputs"]["instanceRefresh"]["preferences"] = preferences


def _refresh_of_use1(data: dict[str, Any], **preferences: float) -> None:
    _set(types.LAUNCH_TEMPLATE, "use1-app-lt", userData="I2Nsb3VkLWNvbmZpZwo=")(data)
    _preferences_of_use1(data, **preferences)


def test_a_user_data_change_refreshes_a_one_instance_group_that_stops_serving_at_90_percent_healthy() -> None:
    """Auto Scaling's own default (90%, no maximum above 100%), which TapStack's group used to keep."""
    old = _edited(lambda d: _preferences_of_use1(d, minHealthyPercentage=90.0))
    new = _edited(lambda d: _refresh_of_use1(d, minHealthyPercentage=90.0))
    changes = _by_name(diff(old, new).changes)
    assert changes["use1-app-lt"].properties == ("userData",)
    assert changes["use1-app-lt"].notes == ("rolls out through an instance refresh of tapstack-app-use1-dev",)
    group = changes["use1-app-asg"]
    assert (group.action, group.properties) == (Action.UPDATE, ("launchTemplate",))
    assert group.notes[-1] == (
        "instance refresh of tapstack-app-use1-dev: 1 instance(s) desired (min 1, max 3), healthy 90%-100% of "
        "desired while it runs: 0 in service at its lowest, so us-east-1 stops serving until a new instance "
        "passes its health check"
    )


def test_a_user_data_change_keeps_serving_when_the_refresh_launches_before_it_terminates() -> None:
    new = _edited(lambda d: _refresh_of_use1(d, minHealthyPercentage=100.0, maxHealthyPercentage=200.0))
    group = _by_name(diff(Graph.from_dict(PLATFORM), new).changes)["use1-app-asg"]
    assert group.properties == ("launchTemplate",), "the platform's own percentages are 100-200"
    assert group.notes[-1] == (
        "instance refresh of tapstack-app-use1-dev: 1 instance(s) desired (min 1, max 3), healthy 100%-200% of "
        "desired while it runs: never fewer than 1 in service, so us-east-1 keeps serving"
    )


@pytest.mark.parametrize(
    ("desired", "min_healthy", "max_healthy", "lowest"),
    [
        (1, 90, 100, 0),
        (1, 100, 200, 1),
        (1, 100, 100, 0),
        (4, 90, 100, 3),
        (4, 50, 100, 2),
        (10, 90, 110, 9),
        (0, 90, 100, 0),
    ],
)
def test_the_fewest_instances_in_service_during_a_refresh(
    desired: int, min_healthy: int, max_healthy: int, lowest: int
) -> None:
    refresh = Refresh("g", desired, 0, 10, min_healthy, max_healthy)
    assert (refresh.lowest_in_service, refresh.keeps_serving) == (lowest, lowest >= 1)


def test_a_group_pinned_to_latest_is_not_refreshed() -> None:
    def edit(data: dict[str, Any]) -> None:
        _refresh_of_use1(data, minHealthyPercentage=90.0)
        _one(data, types.ASG, "use1-app-asg")["inputs"]["launchTemplate"]["version"] = "$Latest"

    def base(data: dict[str, Any]) -> None:
        _preferences_of_use1(data, minHealthyPercentage=90.0)
        _one(data, types.ASG, "use1-app-asg")["inputs"]["launchTemplate"]["version"] = "$Latest"

    changes = _by_name(diff(_edited(base), _edited(edit)).changes)
    assert "use1-app-asg" not in changes
    assert changes["use1-app-lt"].notes == (
        "tapstack-app-use1-dev launches with version $Latest: new instances get the change, running ones keep the "
        "old template (no instance refresh is started)",
    )


def _replication(data: dict[str, Any]) -> dict[str, Any]:
    return _one(data, types.BUCKET_REPLICATION, "use1-replication-config")


def test_a_replication_filter_change_names_the_releases_to_re_replicate() -> None:
    def edit(data: dict[str, Any]) -> None:
        for rule in _replication(data)["inputs"]["rules"]:
            rule["filter"] = {"prefix": "releases/"}

    [change] = diff(Graph.from_dict(PLATFORM), _edited(edit)).changes
    assert change.notes == tuple(
        f"the rule's filter moves from 'artifacts/' to 'releases/': every release already under 'releases/' in "
        f"tapstack-deploy-use1-123456789012-dev must be re-replicated to tapstack-deploy-{code}-123456789012-dev "
        f"({region}) with S3 Batch Replication; replication copies only what is written after the rule takes effect"
        for code, region in (("euw1", "eu-west-1"), ("usw2", "us-west-2"))
    )


def test_a_removed_destination_says_releases_stop_reaching_it() -> None:
    def edit(data: dict[str, Any]) -> None:
        _replication(data)["inputs"]["rules"] = _replication(data)["inputs"]["rules"][:1]

    [change] = diff(Graph.from_dict(PLATFORM), _edited(edit)).changes
    assert change.notes == ("replication to eu-west-1 ends: releases uploaded from now on never reach it",)


@pytest.fixture(scope="module")
def region_added() -> Graph:
    """The platform with a fourth region (synthesized once: the example with eu-central-1 added)."""
    from tapstack.program import main as program
    from tapstack.stackfile import load
    from tapstack.synth import synthesize

    settings = load(
        PLATFORM_STACK,
        ['regions=["us-east-1","us-west-2","eu-west-1","eu-central-1"]', "vpcCidrs={}"],
    )
    settings.values["tapstack:migrationToken"] = "t"
    return synthesize(program, settings.values, stack=settings.stack, secret_keys=["tapstack:migrationToken"])


def test_a_region_that_joins_needs_every_release_re_replicated_to_it(region_added: Graph) -> None:
    result = diff(Graph.from_dict(PLATFORM), region_added)
    changes = _by_name(result.changes)
    assert changes["aws-euc1"].action is Action.CREATE
    assert changes["aws-euc1"].notes == (
        "region eu-central-1 joins: it serves a release only once that release is re-replicated to it",
    )
    replication = changes["use1-replication-config"]
    assert (replication.action, replication.properties) == (Action.UPDATE, ("rules",))
    assert replication.notes == (
        "eu-central-1 joins: every release already under 'artifacts/' in tapstack-deploy-use1-123456789012-dev must "
        "be re-replicated to tapstack-deploy-euc1-123456789012-dev (eu-central-1) with S3 Batch Replication; "
        "replication copies only what is written after the rule takes effect",
    )
    assert result.destructive == []


def _write(path: Path, graph: Graph) -> str:
    graph.write(path)
    return str(path)


def test_the_command_exits_1_naming_the_data_a_stateful_replacement_destroys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    new = _write(tmp_path / "new.json", _edited(_set(types.BUCKET, "use1-deploy", objectLockEnabled=True)))
    assert main(["diff", old, new]) == 1
    out = capsys.readouterr().out
    assert "s3:Bucket use1-deploy  objectLockEnabled forces replacement  DESTRUCTIVE" in out
    assert "deployment bucket: every release's artifacts and migration records" in out
    unchanged = sum(r.custom for r in Graph.from_dict(PLATFORM).resources) - 8 - 10  # providers included
    assert out.splitlines()[-1] == (
        "destructive: 0 to create, 8 to update in place, 10 to replace (1 destructive), 0 to delete, "
        f"{unchanged} unchanged"
    )


def test_the_command_exits_0_on_a_change_that_destroys_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    new = _write(tmp_path / "new.json", _edited(_set(types.ALARM, "use1-app-alarms-cpu-high", threshold=95.0)))
    assert main(["diff", old, new]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "us-east-1"
    assert out[-1].startswith("no data destroyed: 0 to create, 1 to update in place, 0 to replace, 0 to delete")


def test_identical_graphs_print_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    assert main(["diff", old, old]) == 0
    assert capsys.readouterr().out.startswith("no changes")


def test_the_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    new = _write(tmp_path / "new.json", _edited(_set(types.BUCKET, "use1-deploy", objectLockEnabled=True)))
    assert main(["diff", old, new, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"changes", "summary"}
    unchanged = sum(r.custom for r in Graph.from_dict(PLATFORM).resources) - 8 - 10
    assert data["summary"] == {
        "create": 0,
        "update": 8,
        "replace": 10,
        "delete": 0,
        "unchanged": unchanged,
        "destructive": 1,
    }
    bucket = next(c for c in data["changes"] if c["name"] == "use1-deploy")
    assert bucket == {
        "urn": _one(PLATFORM, types.BUCKET, "use1-deploy")["urn"],
        "type": types.BUCKET,
        "name": "use1-deploy",
        "region": "us-east-1",
        "action": "replace",
        "properties": ["objectLockEnabled"],
        "replaces_because": ["objectLockEnabled"],
        "stateful": True,
        "notes": ["destroys the data it holds: deployment bucket: every release's artifacts and migration records"],
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"stack": "x"}', "not a TapStack graph"),
        ('{"resources": ["x"]}', "not a TapStack graph"),
        ('{"resources": [{"type": "aws:s3/bucket:Bucket"}]}', "not a TapStack graph"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["diff", good, str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_stack_file_is_synthesized_on_the_spot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden = json.loads((GOLDEN / "foundation.dev.json").read_text())["graph"]
    old = _write(tmp_path / "old.json", Graph.from_dict(golden))
    assert main(["diff", old, str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")]) == 0
    assert capsys.readouterr().out.startswith("no changes")


def _block_after(doc: str, phrase: str) -> list[str]:
    """The lines of the first fenced block after ``phrase`` in ``doc``."""
    text = (ROOT / doc).read_text()
    block = text[text.index(phrase) :].split("```\n", 2)[1]
    return block.splitlines()


def test_switching_on_deployment_object_lock_replaces_no_bucket_as_the_operating_doc_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(PLATFORM_STACK.read_text() + "  tapstack:deploymentObjectLockDays: 30\n")
    assert main(["diff", old, str(stack_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "replace" in line.split()[:2]] == []
    assert [line.split()[3] for line in out if "BucketObjectLockConfiguration" in line] == [
        f"{code}-deploy-object-lock" for code in ("euw1", "use1", "usw2")
    ]
    shown = _block_after("docs/operating-migrations.md", "the diff shows what that change really")
    assert [line for line in shown if line not in out] == []


def test_the_readme_example_is_what_diff_prints_for_an_instance_type_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path / "old.json", Graph.from_dict(PLATFORM))
    stack_file = tmp_path / "Pulumi.dev.yaml"
    original = PLATFORM_STACK.read_text()
    stack_file.write_text(original.replace("instanceType: t3.micro", "instanceType: t3.small"))
    assert main(["diff", old, str(stack_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    shown = _block_after("README.md", "the diff says what that costs")
    assert [line for line in shown if line not in out] == []


def test_a_replaced_destination_bucket_needs_every_release_re_replicated_to_it() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(types.BUCKET, "usw2-deploy", objectLockEnabled=True)))
    replication = _by_name(result.changes)["use1-replication-config"]
    assert (replication.action, replication.properties) == (Action.UPDATE, ("rules",))
    assert replication.notes[-1] == (
        "the destination tapstack-deploy-usw2-123456789012-dev is replaced by an empty bucket: every release already "
        "under 'artifacts/' in tapstack-deploy-use1-123456789012-dev must be re-replicated to "
        "tapstack-deploy-usw2-123456789012-dev (us-west-2) with S3 Batch Replication; replication copies only what "
        "is written after the rule takes effect"
    )


def test_a_replaced_source_bucket_needs_every_release_released_again() -> None:
    result = diff(Graph.from_dict(PLATFORM), _edited(_set(types.BUCKET, "use1-deploy", objectLockEnabled=True)))
    replication = _by_name(result.changes)["use1-replication-config"]
    assert replication.action is Action.REPLACE
    assert replication.notes[-1] == (
        "the source tapstack-deploy-use1-123456789012-dev is replaced by an empty bucket: every release uploaded "
        "before this change must be released again; replication copies only what is written after the rule takes "
        "effect"
    )


def test_a_new_primary_re_replicates_nothing_every_region_already_holds() -> None:
    from tapstack.program import main as program
    from tapstack.stackfile import load
    from tapstack.synth import synthesize

    settings = load(PLATFORM_STACK, ['regions=["eu-west-1","us-east-1","us-west-2"]'])
    settings.values["tapstack:migrationToken"] = "t"
    moved = synthesize(program, settings.values, stack=settings.stack, secret_keys=["tapstack:migrationToken"])
    changes = _by_name(diff(Graph.from_dict(PLATFORM), moved).changes)
    assert (changes["use1-replication-config"].action, changes["euw1-replication-config"].action) == (
        Action.DELETE,
        Action.CREATE,
    )
    assert changes["use1-replication-config"].notes == ()
    assert changes["euw1-replication-config"].notes == (
        "the primary moves from us-east-1 to eu-west-1: releases are uploaded to tapstack-deploy-euw1-123456789012-dev "
        "from now on; those uploaded before stay where replication put them, every one of them in the old primary",
    )


def test_a_lambda_archive_built_in_another_checkout_is_no_change_but_new_code_is() -> None:
    def elsewhere(data: dict[str, Any]) -> None:
        code = _one(data, types.FUNCTION, "use1-migration-function")["inputs"]["code"]
        code["path"] = f"/srv/ci/checkout/{code['path']}"

    def rebuilt(data: dict[str, Any]) -> None:
        _one(data, types.FUNCTION, "use1-migration-function")["inputs"]["code"]["path"] = "build/lambda/migration-0"

    assert diff(Graph.from_dict(PLATFORM), _edited(elsewhere)).changes == ()
    [change] = diff(Graph.from_dict(PLATFORM), _edited(rebuilt)).changes
    assert (change.name, change.action, change.properties) == ("use1-migration-function", Action.UPDATE, ("code",))


def test_a_group_without_instance_refresh_keeps_its_running_instances_on_the_old_template() -> None:
    def without_refresh(data: dict[str, Any]) -> None:
        del _one(data, types.ASG, "use1-app-asg")["inputs"]["instanceRefresh"]

    def edit(data: dict[str, Any]) -> None:
        without_refresh(data)
        _set(types.LAUNCH_TEMPLATE, "use1-app-lt", userData="I2Nsb3VkLWNvbmZpZwo=")(data)

    changes = _by_name(diff(_edited(without_refresh), _edited(edit)).changes)
    assert changes["use1-app-lt"].notes == (
        "tapstack-app-use1-dev configures no instance refresh: only new instances get the change",
    )
    assert changes["use1-app-asg"].notes[-1] == (
        "no instance refresh configured: running instances keep the old launch template until replaced"
    )
