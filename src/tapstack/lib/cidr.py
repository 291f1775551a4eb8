"""CIDR planning: region VPCs that never overlap, and subnets carved deterministically."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


def default_vpc_cidr(index: int) -> str:
    """Region ``index`` gets ``10.<index*16>.0.0/16`` so that peering or TGW later is always possible."""
    if not 0 <= index < 16:
        raise ValueError(f"region index {index} out of range 0..15")
    return f"10.{index * 16}.0.0/16"


def find_overlap(cidrs: dict[str, str]) -> tuple[str, str] | None:
    """The first pair of keys whose networks overlap, or None."""
    nets = [(k, ipaddress.ip_network(v)) for k, v in cidrs.items()]
    for i, (ka, na) in enumerate(nets):
        for kb, nb in nets[i + 1 :]:
            if na.overlaps(nb):
                return ka, kb
    return None


@dataclass(frozen=True)
class SubnetPlan:
    """The public and private subnet CIDRs of one VPC, one of each per AZ."""

    public: tuple[str, ...]
    private: tuple[str, ...]


def plan_subnets(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Split the VPC in /20s-or-smaller: public first, private after, so a grown az_count keeps old CIDRs."""
    net = ipaddress.ip_network(vpc_cidr)
    new_prefix = max(net.prefixlen + 4, 20)
    if new_prefix > 28:
        raise ValueError(f"VPC {vpc_cidr} is too small to hold {2 * az_count} subnets")
    blocks = list(net.subnets(new_prefix=new_prefix))
    half = len(blocks) // 2
    if az_count > half:
        raise ValueError(f"VPC {vpc_cidr} can hold at most {half} AZs of subnets, asked for {az_count}")
    return SubnetPlan(
        public=tuple(str(b) for b in blocks[:az_count]),
        private=tuple(str(b) for b in blocks[half : half + az_count]),
    )
