"""The region table: every supported region has a name code and an Availability Zone count that deploys."""

from __future__ import annotations

import pytest
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

from tapstack.config import MAX_AZ_COUNT
from tapstack.lib.regions import AZ_COUNTS, REGION_CODES, az_count, region_code


def test_every_region_has_a_code_and_a_zone_count() -> None:
    assert list(AZ_COUNTS) == list(REGION_CODES)


def test_every_region_allows_the_minimum_of_two_zones_and_none_exceeds_the_config_maximum() -> None:
    assert all(2 <= count <= MAX_AZ_COUNT for count in AZ_COUNTS.values())


@pytest.mark.parametrize("region", list(AZ_COUNTS))
def test_the_emulator_has_at_least_as_many_zones_as_the_config_accepts(region: str) -> None:
    """Otherwise a config that passes validation would still fail in `tapstack up --local`."""
    zones = RegionsAndZonesBackend.zones[region]
    assert len({z.zone_id for z in zones}) >= az_count(region)


def test_constrained_zones_are_not_counted() -> None:
    """us-west-1 lists three AZ IDs, but usw1-az2 is hidden from newer accounts; ap-northeast-1 likewise apne1-az3."""
    assert (az_count("us-west-1"), az_count("ap-northeast-1")) == (2, 3)


def test_unknown_regions_fail_with_the_allowed_list() -> None:
    with pytest.raises(ValueError, match=r"unknown region 'us-east1'; allowed: us-east-1, us-east-2"):
        az_count("us-east1")
    with pytest.raises(ValueError, match=r"unknown region 'mars-1'"):
        region_code("mars-1")
