"""Tags every resource carries, applied once as provider default tags."""

from __future__ import annotations

from collections.abc import Mapping


def default_tags(project: str, environment: str, region: str, extra: Mapping[str, str]) -> dict[str, str]:
    """Standard tags first, user tags after, but users cannot override the ownership tags."""
    tags = dict(extra)
    tags.update(
        {
            "Project": project,
            "Environment": environment,
            "Region": region,
            "ManagedBy": "pulumi",
            "Stack": "tapstack",
        }
    )
    return tags
