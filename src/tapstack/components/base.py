"""The contract every TapStack component follows: the region's provider is explicit and inherited."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


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

    def invoke(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
