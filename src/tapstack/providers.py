"""One explicit aws.Provider per region: no resource in TapStack ever falls back to the default provider."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .config import StackConfig
from .lib.regions import region_code
from .lib.tags import default_tags


class ProviderManager:
    """Creates and caches the provider of each region, with the stack's default tags."""

    def __init__(self, config: StackConfig, parent: pulumi.Resource | None = None) -> None:
        self._config = config
        self._parent = parent
        self._providers: dict[str, aws.Provider] = {}

    def get(self, region: str) -> aws.Provider:
        if region not in self._config.regions:
            raise KeyError(f"region {region!r} is not deployed by this stack ({', '.join(self._config.regions)})")
        if region not in self._providers:
            cfg = self._config
            self._providers[region] = aws.Provider(
                f"aws-{region_code(region)}",
                region=region,
                default_tags=aws.ProviderDefaultTagsArgs(
                    tags=default_tags(cfg.project, cfg.environment_suffix, region, cfg.tags)
                ),
                opts=pulumi.ResourceOptions(parent=self._parent),
            )
        return self._providers[region]
