"""SNS topics, their access policies and subscriptions."""

from __future__ import annotations

from ...resource_types import TOPIC, TOPIC_POLICY, TOPIC_SUBSCRIPTION
from .base import Request, Result, compact, resource, tag_list

# Topic inputs that are SNS topic attributes, under their attribute names.
TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "policy": "Policy",
    "deliveryPolicy": "DeliveryPolicy",
    "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig",
}
SUBSCRIPTION_ATTRIBUTES = {
    "filterPolicy": "FilterPolicy",
    "filterPolicyScope": "FilterPolicyScope",
    "rawMessageDelivery": "RawMessageDelivery",
    "redrivePolicy": "RedrivePolicy",
    "deliveryPolicy": "DeliveryPolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn",
}


def _attributes(req: Request, names: dict[str, str]) -> dict[str, str]:
    """SNS attributes are strings, booleans included ("true")."""
    out = {}
    for key, attribute in names.items():
        value = req.get(key)
        if value is not None:
            out[attribute] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


@resource(TOPIC, " ".join(["name", "tags", *TOPIC_ATTRIBUTES]))
def topic(req: Request) -> Result:
    name = req.physical_name()
    arn = req.client("sns").create_topic(
        **compact(Name=name, Attributes=_attributes(req, TOPIC_ATTRIBUTES), Tags=tag_list(req.tags))
    )["TopicArn"]
    return arn, {"arn": arn, "name": name, "owner": req.account_id, "tagsAll": req.tags}


@resource(TOPIC_POLICY, "arn policy")
def topic_policy(req: Request) -> Result:
    arn = req.get("arn")
    req.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=req.get("policy"))
    return arn, {"owner": req.account_id}


@resource(
    TOPIC_SUBSCRIPTION,
    " ".join(["topic", "protocol", "endpoint", *SUBSCRIPTION_ATTRIBUTES]),
    {
        "confirmationTimeoutInMinutes": "the provider's wait for an HTTP(S) confirmation",
        "endpointAutoConfirms": "tells the provider the HTTP(S) endpoint confirms by itself",
    },
)
def topic_subscription(req: Request) -> Result:
    arn = req.client("sns").subscribe(
        **compact(
            TopicArn=req.get("topic"),
            Protocol=req.get("protocol"),
            Endpoint=req.get("endpoint"),
            Attributes=_attributes(req, SUBSCRIPTION_ATTRIBUTES),
            ReturnSubscriptionArn=True,
        )
    )["SubscriptionArn"]
    return arn, {"arn": arn, "ownerId": req.account_id, "pendingConfirmation": arn == "pending confirmation"}
