"""Network ACL rules per subnet tier, as data: the smallest set that lets the tier do its job.

Public subnets hold only NAT gateways (no load balancer, no SSH bastion); private subnets hold the
instances, which only ever open HTTPS connections (SSM, S3, package repositories).

NACLs are stateless: a reply is judged like any other packet, by its destination port. That decides the
one difference between the tiers:

- Private tier: replies reach the instances on the port the instance chose for its connection. Amazon
  Linux picks those from ``net.ipv4.ip_local_port_range`` (32768-60999), never 22 or 3389, so explicit
  denies of 22 and 3389 from anywhere, numbered before the ephemeral allow, cost nothing and keep SSH and
  RDP out whatever is ever added below them.
- Public tier: a NAT gateway translates every outbound connection to a source port of its own, anywhere
  in 1024-65535 (VPC User Guide, "NAT gateways" and the NACL rules it recommends for a NAT subnet). The
  reply to a connection the NAT happened to open from port 3389 arrives at destination port 3389: a deny
  of 3389 before the ephemeral allow dropped it, so roughly one outbound connection in 64,512 from the
  private instances hung until it timed out (an intermittent failure no test of a single connection
  sees). The public tier therefore admits the whole ephemeral range and denies only 22, which no NAT
  uses as a source port. This opens nothing: NAT gateways accept no connection started from outside, and
  nothing else runs in the public subnets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

ANYWHERE = "0.0.0.0/0"
EPHEMERAL = (1024, 65535)
HTTPS = (443, 443)


class Tier(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True)
class NaclRule:
    number: int
    egress: bool
    cidr: str
    ports: tuple[int, int]
    protocol: str = "tcp"
    action: str = "allow"

    @property
    def slug(self) -> str:
        return f"{'out' if self.egress else 'in'}-{self.number}"


# Ingress replies arrive on ephemeral ports (1024-65535), a range that includes RDP: on the private tier these
# explicit denies come first (lower rule numbers win) so that no rule below can ever open 22 or 3389 to the world.
DENY_SSH = NaclRule(50, False, ANYWHERE, (22, 22), action="deny")
DENY_RDP = NaclRule(60, False, ANYWHERE, (3389, 3389), action="deny")
ADMIN_DENIES = (DENY_SSH, DENY_RDP)


def nacl_rules(tier: Tier, vpc_cidr: str) -> list[NaclRule]:
    if tier is Tier.PUBLIC:
        return [
            DENY_SSH,  # no RDP deny: NAT return traffic may use destination port 3389 (module docstring)
            NaclRule(100, False, vpc_cidr, HTTPS),  # instances -> NAT
            NaclRule(110, False, ANYWHERE, EPHEMERAL),  # replies from the internet to the NAT
            NaclRule(100, True, ANYWHERE, HTTPS),  # NAT -> internet
            NaclRule(110, True, vpc_cidr, EPHEMERAL),  # replies back to instances
        ]
    return [
        *ADMIN_DENIES,
        NaclRule(100, False, ANYWHERE, EPHEMERAL),  # replies to the instances' outbound HTTPS
        NaclRule(110, False, vpc_cidr, HTTPS),  # in-VPC HTTPS (interface endpoints, health checks)
        NaclRule(100, True, ANYWHERE, HTTPS),  # instances -> SSM, S3, repositories
        NaclRule(110, True, vpc_cidr, EPHEMERAL),  # replies to in-VPC HTTPS
    ]


def admits_port(rules: list[NaclRule], port: int, source: str = "203.0.113.10") -> bool:
    """Evaluate ingress as AWS does (lowest matching rule number decides, default deny) for a TCP packet."""
    address = ipaddress.ip_address(source)
    for rule in sorted((r for r in rules if not r.egress), key=lambda r: r.number):
        if address in ipaddress.ip_network(rule.cidr) and rule.ports[0] <= port <= rule.ports[1]:
            return rule.action == "allow"
    return False
