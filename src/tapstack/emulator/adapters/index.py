"""The account-level invokes (``aws:index/*``): who am I, which partition, which region, which AZs."""

from __future__ import annotations

from typing import Any

from ...resource_types import GET_AVAILABILITY_ZONES, GET_CALLER_IDENTITY, GET_PARTITION, GET_REGION
from .base import Request, invoke

DNS_SUFFIXES = {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}


@invoke(GET_CALLER_IDENTITY)
def caller_identity(req: Request) -> dict[str, Any]:
    found = req.client("sts").get_caller_identity()
    return {
        "id": found["Account"],
        "accountId": found["Account"],
        "arn": found["Arn"],
        "userId": found["UserId"],
    }


@invoke(GET_PARTITION)
def partition(req: Request) -> dict[str, Any]:
    """The partition of the caller's own ARN (there is no API call for it)."""
    return {
        "id": req.partition,
        "partition": req.partition,
        "dnsSuffix": DNS_SUFFIXES.get(req.partition, "amazonaws.com"),
        "reverseDnsPrefix": "com.amazonaws",
    }


@invoke(GET_REGION)
def region(req: Request) -> dict[str, Any]:
    name = req.get("region") or req.get("name") or req.region
    found = req.client("ec2").describe_regions(RegionNames=[name])["Regions"][0]
    return {
        "id": name,
        "name": name,
        "region": name,
        "endpoint": found.get("Endpoint", ""),
        "description": "",
    }


@invoke(GET_AVAILABILITY_ZONES)
def availability_zones(req: Request) -> dict[str, Any]:
    filters = [{"Name": f["name"], "Values": f["values"]} for f in req.get("filters", [])]
    if req.get("state"):
        filters.append({"Name": "state", "Values": [req.get("state")]})
    zones = req.client("ec2").describe_availability_zones(**({"Filters": filters} if filters else {}))
    excluded = set(req.get("excludeNames", [])) | set(req.get("excludeZoneIds", []))
    kept = [z for z in zones["AvailabilityZones"] if z["ZoneName"] not in excluded and z["ZoneId"] not in excluded]
    return {
        "id": req.region,
        "names": [z["ZoneName"] for z in kept],
        "zoneIds": [z["ZoneId"] for z in kept],
        "groupNames": sorted({z.get("GroupName", req.region) for z in kept}),
        "state": req.get("state"),
    }
