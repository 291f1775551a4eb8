"""SQS queues (the migration function's dead-letter queue)."""

from __future__ import annotations

from ...resource_types import QUEUE
from .base import Request, Result, compact, resource

# Queue attributes AWS takes as strings, by the provider's input name.
ATTRIBUTES = {
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "policy": "Policy",
    "redrivePolicy": "RedrivePolicy",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
}


@resource(QUEUE, " ".join([*ATTRIBUTES, "name", "tags"]))
def queue(req: Request) -> Result:
    sqs = req.client("sqs")
    name = req.physical_name()
    attributes = {
        aws: str(req.get(key)).lower() if isinstance(req.get(key), bool) else str(req.get(key))
        for key, aws in ATTRIBUTES.items()
        if req.get(key) is not None
    }
    url = sqs.create_queue(**compact(QueueName=name, Attributes=attributes, tags=req.tags))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"arn": arn, "url": url, "name": name, "tagsAll": req.tags}
