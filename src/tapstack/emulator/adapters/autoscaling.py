"""Auto Scaling groups (launched from a launch template, directly or through a mixed instances policy)."""

from __future__ import annotations

from typing import Any

from ...resource_types import ASG
from ..instance_refresh import remember
from .base import AdapterError, Request, Result, compact, resource


def _mixed(policy: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provider's mixedInstancesPolicy -> the API's MixedInstancesPolicy (template, overrides, distribution)."""
    if not policy:
        return None
    template = policy.get("launchTemplate") or {}
    spec = template.get("launchTemplateSpecification") or {}
    distribution = policy.get("instancesDistribution") or {}
    return compact(
        LaunchTemplate=compact(
            LaunchTemplateSpecification=compact(
                LaunchTemplateId=spec.get("launchTemplateId"),
                LaunchTemplateName=spec.get("launchTemplateName"),
                Version=spec.get("version"),
            ),
            Overrides=[compact(InstanceType=o.get("instanceType")) for o in template.get("overrides", [])],
        ),
        InstancesDistribution=compact(
            OnDemandAllocationStrategy=distribution.get("onDemandAllocationStrategy"),
            OnDemandBaseCapacity=distribution.get("onDemandBaseCapacity"),
            OnDemandPercentageAboveBaseCapacity=distribution.get("onDemandPercentageAboveBaseCapacity"),
        ),
    )


@resource(
    ASG,
    "name minSize maxSize desiredCapacity vpcZoneIdentifiers availabilityZones healthCheckType "
    "healthCheckGracePeriod launchTemplate defaultCooldown terminationPolicies tags enabledMetrics "
    "metricsGranularity capacityRebalance mixedInstancesPolicy instanceRefresh",
)
def group(req: Request) -> Result:
    name = req.physical_name()
    template = req.get("launchTemplate")
    mixed = _mixed(req.get("mixedInstancesPolicy"))
    if not template and not mixed:
        raise AdapterError("the emulator adapter supports groups launched from a launch template only")
    client = req.client("autoscaling")
    tags = [
        {
            "Key": t["key"],
            "Value": t["value"],
            "PropagateAtLaunch": bool(t.get("propagateAtLaunch", False)),
            "ResourceId": name,
            "ResourceType": "auto-scaling-group",
        }
        for t in req.get("tags", [])
    ]
    client.create_auto_scaling_group(
        **compact(
            AutoScalingGroupName=name,
            MinSize=req.get("minSize"),
            MaxSize=req.get("maxSize"),
            DesiredCapacity=req.get("desiredCapacity"),
            VPCZoneIdentifier=",".join(req.get("vpcZoneIdentifiers", [])) or None,
            AvailabilityZones=req.get("availabilityZones"),
            HealthCheckType=req.get("healthCheckType"),
            HealthCheckGracePeriod=req.get("healthCheckGracePeriod"),
            DefaultCooldown=req.get("defaultCooldown"),
            TerminationPolicies=req.get("terminationPolicies"),
            CapacityRebalance=req.get("capacityRebalance"),
            LaunchTemplate=compact(
                LaunchTemplateId=template.get("id"),
                LaunchTemplateName=template.get("name"),
                Version=template.get("version"),
            )
            if template
            else None,
            MixedInstancesPolicy=mixed,
            Tags=tags,
        )
    )
    # The provider starts a refresh with these preferences when the template changes; the simulated fleet's
    # refresh (emulator/instance_refresh.py) follows them.
    preferences = (req.get("instanceRefresh") or {}).get("preferences") or {}
    remember(
        req.account_id,
        req.region,
        name,
        preferences.get("minHealthyPercentage"),
        preferences.get("maxHealthyPercentage"),
    )
    if req.get("enabledMetrics"):
        client.enable_metrics_collection(
            AutoScalingGroupName=name,
            Metrics=req.get("enabledMetrics"),
            Granularity=req.get("metricsGranularity", "1Minute"),
        )
    created = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return name, {
        "arn": created["AutoScalingGroupARN"],
        "name": name,
        "availabilityZones": created.get("AvailabilityZones", []),
        "defaultCooldown": created.get("DefaultCooldown", 300),
    }
