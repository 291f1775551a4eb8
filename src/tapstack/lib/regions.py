"""The AWS regions TapStack knows how to name and plan for, and how many Availability Zones each offers.

A closed list is deliberate: a typo such as ``us-east1`` must fail at config time with the list of
allowed values, not during a deployment half an hour later. The same goes for ``azCount``: asking for
more zones than a region has used to pass ``synth`` and ``check`` and fail only at deploy time.
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

AZ_COUNT_SOURCE = (
    "AWS documentation 'AWS Availability Zones' (docs.aws.amazon.com/global-infrastructure/latest/regions/"
    "aws-availability-zones.html: AZ IDs per Region) and the AWS Knowledge Center article "
    "'vpc-find-availability-zone-options' (constrained zones are removed from newer accounts), consulted "
    "2026-11-27; cross-checked against moto 5.2's zone table, so every count accepted here also deploys locally"
)
AZ_COUNTS: dict[str, int] = {
    # Availability Zones that every account can launch into. Where AWS lists a constrained zone that it
    # hides from newer accounts (usw1-az2 in us-west-1, apne1-az3 in ap-northeast-1), it is not counted:
    # a stack that needs it would deploy in one account and fail in the next.
    "us-east-1": 6,
    "us-east-2": 3,
    "us-west-1": 2,
    "us-west-2": 4,
    "ca-central-1": 3,
    "eu-west-1": 3,
    "eu-west-2": 3,
    "eu-west-3": 3,
    "eu-central-1": 3,
    "eu-north-1": 3,
    "eu-south-1": 3,
    "ap-south-1": 3,
    "ap-northeast-1": 3,
    "ap-northeast-2": 4,
    "ap-northeast-3": 3,
    "ap-southeast-1": 3,
    "ap-southeast-2": 3,
    "sa-east-1": 3,
}
"""Counted as of the date in ``AZ_COUNT_SOURCE``; AWS adds zones over time, so a region may now have more."""


def region_code(region: str) -> str:
    """Short, stable code for a region, so regional names stay within AWS length limits."""
    try:
        return REGION_CODES[region]
    except KeyError:
        raise ValueError(f"unknown region {region!r}; allowed: {', '.join(REGION_CODES)}") from None


def az_count(region: str) -> int:
    """How many Availability Zones of ``region`` a subnet plan may use."""
    try:
        return AZ_COUNTS[region]
    except KeyError:
        raise ValueError(f"unknown region {region!r}; allowed: {', '.join(AZ_COUNTS)}") from None
