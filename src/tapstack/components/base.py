"""The contract every TapStack component follows: the region's provider is explicit and inherited."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ..lib import iam


class RegionalComponent(pulumi.ComponentResource):
    """A component bound to one region: refuses to exist without that region's provider."""

    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        provider = opts.provider if opts is not None else None
        if not isinstance(provider, aws.Provider):
            raise TypeError(f"{type_} {name!r}: pass the region's aws.Provider as opts.provider")
        super().__init__(type_, name, None, opts)
        self.provider: aws.Provider = provider

    def child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a child: parented here, on this region's provider."""
        return pulumi.ResourceOptions(parent=self, provider=self.provider, **kwargs)

    def add_log_group(
        self, name: str, group_name: pulumi.Input[str], retention_days: int, key_arn: pulumi.Input[str] | None
    ) -> aws.cloudwatch.LogGroup:
        """A log group of this component, kept ``retention_days`` and encrypted with ``key_arn`` (None: by
        CloudWatch's own key)."""
        return aws.cloudwatch.LogGroup(
            name, name=group_name, retention_in_days=retention_days, kms_key_id=key_arn, opts=self.child()
        )

    def add_service_role(
        self,
        name: str,
        role_name: pulumi.Input[str],
        service: str,
        account_id: pulumi.Input[str],
        source_arn: pulumi.Input[str] | None = None,
    ) -> aws.iam.Role:
        """A role of this component that only ``service`` may assume, and only for this account's requests (and
        ``source_arn``'s, where the service sends it): ``iam.assume_role_policy``."""
        return aws.iam.Role(
            name,
            name=role_name,
            assume_role_policy=iam.assume_role_policy(service, account_id, source_arn),
            opts=self.child(),
        )

    def invoke(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
