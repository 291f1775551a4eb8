"""Instance launches EC2 refuses and moto accepts: tag keys that instance-metadata tags cannot carry.

With instance tags in the instance metadata (``InstanceMetadataTags: enabled``), EC2 allows tag keys made of
letters, digits and ``+ - = . , _ : @`` only, never ``.``, ``..`` or ``_index`` alone (EC2 User Guide, "View tags
for your EC2 instances using instance metadata"): a key with a space or ``/`` makes the launch fail. An Auto
Scaling group then stays without the instances and retries the launch; its creation itself succeeds. Here a
launch whose instance tags (the request's and the launch template's) break the rule while the template or the
request turns metadata tags on raises ``InvalidParameterValue`` (the emulator's code and wording: AWS's are not
reproduced), and a group launching such instances gets none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .patches import wrap

_ALLOWED = re.compile(r"[A-Za-z0-9+\-=.,_:@]+")
_RESERVED = frozenset({".", "..", "_index"})
_installed = False


def forbidden_metadata_tag_keys(keys: Iterable[str]) -> list[str]:
    """The keys EC2 refuses on an instance whose tags are in its metadata."""
    return sorted(k for k in keys if k in _RESERVED or not _ALLOWED.fullmatch(k))


def _template_data(backend: Any, launch_template: Any) -> dict[str, Any]:
    if not launch_template:
        return {}
    data = backend._get_template_from_args(launch_template).data
    return data if isinstance(data, dict) else {}


def _instance_tag_keys(data: dict[str, Any], kwargs: dict[str, Any]) -> set[str]:
    keys = set((kwargs.get("tags") or {}).get("instance", {}))
    for spec in data.get("TagSpecifications") or []:
        if isinstance(spec, dict) and spec.get("ResourceType") == "instance":
            keys |= {str(t.get("Key")) for t in spec.get("Tags") or [] if isinstance(t, dict)}
    return keys


def _checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_instances(backend: Any, image_id: str, count: int, user_data: Any, groups: Any, **kwargs: Any) -> Any:
        from moto.ec2.exceptions import EC2ClientError

        data = _template_data(backend, kwargs.get("launch_template"))
        options = {**(data.get("MetadataOptions") or {}), **(kwargs.get("metadata_options") or {})}
        if str(options.get("InstanceMetadataTags", "disabled")).lower() == "enabled":
            bad = forbidden_metadata_tag_keys(_instance_tag_keys(data, kwargs))
            if bad:
                raise EC2ClientError(
                    "InvalidParameterValue",
                    f"Tag keys {bad} are not allowed on an instance with instance metadata tags enabled: "
                    "use letters, digits and + - = . , _ : @ only",
                )
        return original(backend, image_id, count, user_data, groups, **kwargs)

    return run_instances


def _group_launch(original: Callable[..., Any]) -> Callable[..., Any]:
    def replace_autoscaling_group_instances(group: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
        from moto.ec2.exceptions import EC2ClientError

        try:
            original(group, count_needed, propagated_tags)
        except EC2ClientError as refused:
            if refused.code != "InvalidParameterValue":
                raise
            group.tapstack_failed_launches = [*getattr(group, "tapstack_failed_launches", []), refused.message]

    return replace_autoscaling_group_instances


def install() -> None:
    """Refuse such launches in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.autoscaling.models import FakeAutoScalingGroup
    from moto.ec2.models.instances import InstanceBackend

    wrap(InstanceBackend, "run_instances", _checked)
    wrap(FakeAutoScalingGroup, "replace_autoscaling_group_instances", _group_launch)
    _installed = True
