"""SNS topics of one region: deployments and alarms, encrypted, publishable only from this account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..lib import iam
from .base import RegionalComponent


@dataclass
class NotificationsArgs:
    region: str
    alarm_topic_name: str
    deployment_topic_name: str | None
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    email: str | None = None


class Notifications(RegionalComponent):
    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:notifications:Notifications", name, opts)
        self.alarm_topic = self._topic(f"{name}-alarms", args.alarm_topic_name, args, allow_cloudwatch=True)
        self.deployment_topic: aws.sns.Topic | None = None
        if args.deployment_topic_name is not None:
            self.deployment_topic = self._topic(
                f"{name}-deployments", args.deployment_topic_name, args, allow_cloudwatch=False
            )
        self.register_outputs(
            {
                "alarmTopicArn": self.alarm_topic.arn,
                "deploymentTopicArn": self.deployment_topic.arn if self.deployment_topic else None,
            }
        )

    def _topic(
        self, resource_name: str, topic_name: str, args: NotificationsArgs, allow_cloudwatch: bool
    ) -> aws.sns.Topic:
        topic = aws.sns.Topic(resource_name, name=topic_name, kms_master_key_id=args.kms_key_arn, opts=self.child())
        aws.sns.TopicPolicy(
            f"{resource_name}-policy",
            arn=topic.arn,
            policy=iam.topic_policy(topic.arn, args.account_id, args.partition, args.region, allow_cloudwatch),
            opts=self.child(),
        )
        if args.email:
            aws.sns.TopicSubscription(
                f"{resource_name}-email", topic=topic.arn, protocol="email", endpoint=args.email, opts=self.child()
            )
        return topic
