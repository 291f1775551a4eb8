"""Both Lambda functions come from the one function component and get the same production setup."""

from __future__ import annotations

import pytest

from tapstack import resource_types as types
from tapstack.graph import Graph, Resource
from tests.helpers import policy, statements

COMPONENT = "tapstack:function:LambdaFunction"


def _parent(graph: Graph, resource: Resource) -> Resource:
    return next(r for r in graph if r.urn == resource.parent)


def _in_region(graph: Graph, token: str, region: str | None) -> list[Resource]:
    return [r for r in graph.of_type(token) if r.region == region]


def _functions(platform: Graph) -> list[Resource]:
    functions = platform.of_type(types.FUNCTION)
    assert sorted(f.inputs["name"].split("-")[1] for f in functions) == ["migration"] * 3 + ["rotation"] * 3
    return functions


def test_both_functions_are_built_by_the_function_component_traced_with_an_encrypted_dead_letter_queue(
    platform: Graph,
) -> None:
    for function in _functions(platform):
        component = _parent(platform, function)
        assert component.type == COMPONENT
        (key,) = _in_region(platform, types.KMS_KEY, function.region)
        key_arn = key.outputs["arn"]
        siblings = [r for r in platform if r.parent == component.urn]
        (queue,) = [r for r in siblings if r.type == types.QUEUE]
        (group,) = [r for r in siblings if r.type == types.LOG_GROUP]
        assert function.inputs["tracingConfig"] == {"mode": "Active"}
        assert function.inputs["deadLetterConfig"] == {"targetArn": queue.outputs["arn"]}
        assert function.inputs["kmsKeyArn"] == key_arn, "the environment is encrypted with the region key"
        assert "reservedConcurrentExecutions" not in function.inputs, "a reservation is opt-in"
        assert (queue.inputs["kmsMasterKeyId"], queue.inputs["messageRetentionSeconds"]) == (key_arn, 1_209_600)
        assert group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
        assert (group.inputs["kmsKeyId"], group.inputs["retentionInDays"]) == (key_arn, 30)


def test_each_function_alarms_on_its_errors_throttles_and_dead_letters_to_its_regions_alarm_topic(
    platform: Graph,
) -> None:
    for function in _functions(platform):
        component = _parent(platform, function)
        siblings = [r for r in platform if r.parent == component.urn]
        (queue,) = [r for r in siblings if r.type == types.QUEUE]
        topic = next(t for t in _in_region(platform, types.TOPIC, function.region) if "alarms" in t.inputs["name"])
        alarms = {a.inputs["metricName"]: a for a in siblings if a.type == types.ALARM}
        assert sorted(alarms) == ["ApproximateNumberOfMessagesVisible", "Errors", "Throttles"]
        for metric in ("Errors", "Throttles"):
            assert alarms[metric].inputs["dimensions"] == {"FunctionName": function.inputs["name"]}
        assert alarms["ApproximateNumberOfMessagesVisible"].inputs["dimensions"] == {"QueueName": queue.inputs["name"]}
        for alarm in alarms.values():
            assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [topic.outputs["arn"]]


@pytest.mark.parametrize("purpose", ["migration", "rotation"])
def test_a_functions_role_sends_failed_events_only_to_its_own_queue_and_writes_traces(
    platform: Graph, purpose: str
) -> None:
    for function in [f for f in _functions(platform) if f.inputs["name"].startswith(f"tapstack-{purpose}-")]:
        siblings = [r for r in platform if r.parent == function.parent]
        (queue,) = [r for r in siblings if r.type == types.QUEUE]
        (role_policy,) = [r for r in siblings if r.type == types.ROLE_POLICY]
        by_sid = {s["Sid"]: s for s in statements(policy(role_policy))}
        assert by_sid["SendFailedEventsToQueue"]["Action"] == ["sqs:SendMessage"]
        assert by_sid["SendFailedEventsToQueue"]["Resource"] == [queue.outputs["arn"]]
        assert by_sid["EncryptFailedEvents"]["Condition"] == {
            "StringEquals": {"kms:ViaService": [f"sqs.{function.region}.amazonaws.com"]}
        }
        assert by_sid["Tracing"]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
