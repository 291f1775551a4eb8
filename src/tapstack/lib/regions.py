"""The AWS regions TapStack knows how to name and plan for.

A closed list is deliberate: a typo such as ``us-east1`` must fail at config time with the list of
allowed values, not during a deployment half an hour later.
"""

from __future__ import annotations

REGION_CODES: dict[str, str] = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "ca-central-1": "cac1",
    "eu-west-1": "euw1",
    "eu-west-2": "euw2",
    "eu-west-3": "euw3",
    "eu-central-1": "euc1",
    "eu-north-1": "eun1",
    "eu-south-1": "eus1",
    "ap-south-1": "aps1",
    "ap-northeast-1": "apne1",
    "ap-northeast-2": "apne2",
    "ap-northeast-3": "apne3",
    "ap-southeast-1": "apse1",
    "ap-southeast-2": "apse2",
    "sa-east-1": "sae1",
}


def region_code(region: str) -> str:
    """Short, stable code for a region, so regional names stay within AWS length limits."""
    try:
        return REGION_CODES[region]
    except KeyError:
        raise ValueError(f"unknown region {region!r}; allowed: {', '.join(REGION_CODES)}") from None
