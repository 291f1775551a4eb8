"""EC2 networking and launch templates: VPC, subnets, gateways, routes, NACLs, security groups, flow logs."""

from __future__ import annotations

import zlib
from typing import Any

from ...resource_types import (
    DEFAULT_NETWORK_ACL,
    DEFAULT_SECURITY_GROUP,
    EIP,
    FLOW_LOG,
    INTERNET_GATEWAY,
    LAUNCH_TEMPLATE,
    NAT_GATEWAY,
    NETWORK_ACL,
    NETWORK_ACL_RULE,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SECURITY_GROUP,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
)
from .base import AdapterError, Request, Result, as_bool, compact, ec2_tag_spec, pascal, resource

PROTOCOLS = {"all": "-1", "-1": "-1", "tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}


def _arn(req: Request, kind: str, rid: str) -> str:
    return req.arn("ec2", f"{kind}/{rid}")


def _tag(req: Request, rid: str) -> None:
    """For resources created before tags can be given (default objects AWS made for us)."""
    if req.tags:
        req.client("ec2").create_tags(Resources=[rid], Tags=[{"Key": k, "Value": v} for k, v in req.tags.items()])


def _one(items: list[dict[str, Any]], what: str) -> dict[str, Any]:
    if len(items) != 1:
        raise AdapterError(f"expected exactly one {what}, the emulator has {len(items)}")
    return items[0]


@resource(
    VPC,
    "cidrBlock enableDnsSupport enableDnsHostnames instanceTenancy assignGeneratedIpv6CidrBlock tags",
)
def vpc(req: Request) -> Result:
    ec2 = req.client("ec2")
    created = ec2.create_vpc(
        **compact(
            CidrBlock=req.get("cidrBlock"),
            InstanceTenancy=req.get("instanceTenancy"),
            AmazonProvidedIpv6CidrBlock=req.get("assignGeneratedIpv6CidrBlock"),
            TagSpecifications=ec2_tag_spec("vpc", req.tags),
        )
    )["Vpc"]
    vid = created["VpcId"]
    dns_support = req.get("enableDnsSupport", True)
    dns_hostnames = req.get("enableDnsHostnames", False)
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsSupport={"Value": dns_support})
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": dns_hostnames})
    by_vpc = [{"Name": "vpc-id", "Values": [vid]}]
    default_sg = _one(
        ec2.describe_security_groups(Filters=[*by_vpc, {"Name": "group-name", "Values": ["default"]}])[
            "SecurityGroups"
        ],
        "default security group",
    )
    default_acl = _one(
        ec2.describe_network_acls(Filters=[*by_vpc, {"Name": "default", "Values": ["true"]}])["NetworkAcls"],
        "default network ACL",
    )
    main_rt = _one(
        ec2.describe_route_tables(Filters=[*by_vpc, {"Name": "association.main", "Values": ["true"]}])["RouteTables"],
        "main route table",
    )
    return vid, {
        "arn": _arn(req, "vpc", vid),
        "cidrBlock": created["CidrBlock"],
        "instanceTenancy": created.get("InstanceTenancy", "default"),
        "dhcpOptionsId": created.get("DhcpOptionsId", ""),
        "enableDnsSupport": dns_support,
        "enableDnsHostnames": dns_hostnames,
        "defaultSecurityGroupId": default_sg["GroupId"],
        "defaultNetworkAclId": default_acl["NetworkAclId"],
        "defaultRouteTableId": main_rt["RouteTableId"],
        "mainRouteTableId": main_rt["RouteTableId"],
        "ownerId": created.get("OwnerId", req.account_id),
        "tagsAll": req.tags,
    }


@resource(
    SUBNET,
    "vpcId cidrBlock availabilityZone availabilityZoneId mapPublicIpOnLaunch tags",
)
def subnet(req: Request) -> Result:
    ec2 = req.client("ec2")
    created = ec2.create_subnet(
        **compact(
            VpcId=req.get("vpcId"),
            CidrBlock=req.get("cidrBlock"),
            AvailabilityZone=req.get("availabilityZone"),
            AvailabilityZoneId=req.get("availabilityZoneId"),
            TagSpecifications=ec2_tag_spec("subnet", req.tags),
        )
    )["Subnet"]
    sid = created["SubnetId"]
    public_ip = bool(req.get("mapPublicIpOnLaunch", False))
    ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": public_ip})
    return sid, {
        "arn": created.get("SubnetArn") or _arn(req, "subnet", sid),
        "availabilityZone": created["AvailabilityZone"],
        "availabilityZoneId": created.get("AvailabilityZoneId", ""),
        "cidrBlock": created["CidrBlock"],
        "mapPublicIpOnLaunch": public_ip,
        "ownerId": created.get("OwnerId", req.account_id),
        "tagsAll": req.tags,
    }


@resource(INTERNET_GATEWAY, "vpcId tags")
def internet_gateway(req: Request) -> Result:
    ec2 = req.client("ec2")
    igw = ec2.create_internet_gateway(**compact(TagSpecifications=ec2_tag_spec("internet-gateway", req.tags)))
    gid = igw["InternetGateway"]["InternetGatewayId"]
    if req.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=req.get("vpcId"))
    return gid, {"arn": _arn(req, "internet-gateway", gid), "ownerId": req.account_id, "tagsAll": req.tags}


@resource(EIP, "domain tags")
def eip(req: Request) -> Result:
    created = req.client("ec2").allocate_address(
        **compact(Domain=req.get("domain", "vpc"), TagSpecifications=ec2_tag_spec("elastic-ip", req.tags))
    )
    aid = created["AllocationId"]
    return aid, {
        "allocationId": aid,
        "arn": _arn(req, "elastic-ip", aid),
        "domain": created.get("Domain", "vpc"),
        "publicIp": created["PublicIp"],
        "tagsAll": req.tags,
    }


@resource(NAT_GATEWAY, "subnetId allocationId connectivityType privateIp tags")
def nat_gateway(req: Request) -> Result:
    nat = req.client("ec2").create_nat_gateway(
        **compact(
            SubnetId=req.get("subnetId"),
            AllocationId=req.get("allocationId"),
            ConnectivityType=req.get("connectivityType"),
            PrivateIpAddress=req.get("privateIp"),
            TagSpecifications=ec2_tag_spec("natgateway", req.tags),
        )
    )["NatGateway"]
    address = (nat.get("NatGatewayAddresses") or [{}])[0]
    return nat["NatGatewayId"], {
        "networkInterfaceId": address.get("NetworkInterfaceId", ""),
        "privateIp": address.get("PrivateIp", ""),
        "publicIp": address.get("PublicIp", ""),
        "tagsAll": req.tags,
    }


ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "networkInterfaceId": "NetworkInterfaceId",
    "transitGatewayId": "TransitGatewayId",
    "vpcEndpointId": "VpcEndpointId",
    "vpcPeeringConnectionId": "VpcPeeringConnectionId",
    "egressOnlyGatewayId": "EgressOnlyInternetGatewayId",
}
ROUTE_DESTINATIONS = {
    "destinationCidrBlock": "DestinationCidrBlock",
    "destinationIpv6CidrBlock": "DestinationIpv6CidrBlock",
    "destinationPrefixListId": "DestinationPrefixListId",
}

INLINE_DESTINATIONS = {"cidrBlock": "destinationCidrBlock", "ipv6CidrBlock": "destinationIpv6CidrBlock"}


def _create_route(req: Request, table_id: str, route: dict[str, Any]) -> str:
    args = {api: route[key] for key, api in {**ROUTE_TARGETS, **ROUTE_DESTINATIONS}.items() if route.get(key)}
    destinations = [api for api in ROUTE_DESTINATIONS.values() if api in args]
    if len(destinations) != 1 or len(args) != 2:
        raise AdapterError(f"a route needs one destination and one target, got {sorted(args)}")
    req.client("ec2").create_route(RouteTableId=table_id, **args)
    # The provider's route id: the table plus a hash of the destination.
    return f"r-{table_id}{zlib.crc32(str(args[destinations[0]]).encode())}"


@resource(ROUTE_TABLE, "vpcId routes tags")
def route_table(req: Request) -> Result:
    table = req.client("ec2").create_route_table(
        **compact(VpcId=req.get("vpcId"), TagSpecifications=ec2_tag_spec("route-table", req.tags))
    )["RouteTable"]
    tid = table["RouteTableId"]
    for route in req.get("routes", []):
        # Inline routes name their destination cidrBlock; aws.ec2.Route calls it destinationCidrBlock.
        renamed = {INLINE_DESTINATIONS.get(k, k): v for k, v in route.items()}
        _create_route(req, tid, renamed)
    return tid, {
        "arn": _arn(req, "route-table", tid),
        "ownerId": table.get("OwnerId", req.account_id),
        "routes": req.get("routes", []),
        "tagsAll": req.tags,
    }


@resource(ROUTE, " ".join(["routeTableId", *ROUTE_TARGETS, *ROUTE_DESTINATIONS]))
def route(req: Request) -> Result:
    rid = _create_route(req, req.get("routeTableId"), req.inputs)
    return rid, {"origin": "CreateRoute", "state": "active"}


@resource(ROUTE_TABLE_ASSOCIATION, "routeTableId subnetId gatewayId")
def route_table_association(req: Request) -> Result:
    created = req.client("ec2").associate_route_table(
        **compact(RouteTableId=req.get("routeTableId"), SubnetId=req.get("subnetId"), GatewayId=req.get("gatewayId"))
    )
    return created["AssociationId"], {}


@resource(
    FLOW_LOG,
    "vpcId subnetId eniId trafficType logDestinationType logDestination logGroupName iamRoleArn logFormat "
    "maxAggregationInterval destinationOptions tags",
)
def flow_log(req: Request) -> Result:
    targets = {"vpcId": "VPC", "subnetId": "Subnet", "eniId": "NetworkInterface"}
    chosen = [(req.get(key), kind) for key, kind in targets.items() if req.get(key)]
    if len(chosen) != 1:
        raise AdapterError("a flow log needs exactly one of vpcId, subnetId, eniId")
    target, kind = chosen[0]
    created = req.client("ec2").create_flow_logs(
        **compact(
            ResourceIds=[target],
            ResourceType=kind,
            TrafficType=req.get("trafficType"),
            LogDestinationType=req.get("logDestinationType"),
            LogDestination=req.get("logDestination"),
            LogGroupName=req.get("logGroupName"),
            DeliverLogsPermissionArn=req.get("iamRoleArn"),
            LogFormat=req.get("logFormat"),
            MaxAggregationInterval=req.get("maxAggregationInterval"),
            DestinationOptions=pascal(req.get("destinationOptions")),
            TagSpecifications=ec2_tag_spec("vpc-flow-log", req.tags),
        )
    )
    if created.get("Unsuccessful"):
        error = created["Unsuccessful"][0].get("Error", {})
        raise AdapterError(f"CreateFlowLogs refused {target}: {error.get('Code')}: {error.get('Message')}")
    fid = created["FlowLogIds"][0]
    return fid, {"arn": _arn(req, "vpc-flow-log", fid), "tagsAll": req.tags}


def _acl_entry(req: Request, acl_id: str, rule: dict[str, Any], egress: bool) -> None:
    protocol = str(rule.get("protocol"))
    args = compact(
        NetworkAclId=acl_id,
        RuleNumber=rule.get("ruleNumber"),
        Protocol=PROTOCOLS.get(protocol.lower(), protocol),
        RuleAction=rule.get("ruleAction") or rule.get("action"),
        Egress=egress,
        CidrBlock=rule.get("cidrBlock"),
        Ipv6CidrBlock=rule.get("ipv6CidrBlock"),
        IcmpTypeCode=compact(Type=rule.get("icmpType"), Code=rule.get("icmpCode")),
    )
    if args["Protocol"] != "-1" and rule.get("fromPort") is not None:
        args["PortRange"] = {"From": rule["fromPort"], "To": rule["toPort"]}
    req.client("ec2").create_network_acl_entry(**args)


@resource(NETWORK_ACL, "vpcId subnetIds ingress egress tags")
def network_acl(req: Request) -> Result:
    ec2 = req.client("ec2")
    acl = ec2.create_network_acl(
        **compact(VpcId=req.get("vpcId"), TagSpecifications=ec2_tag_spec("network-acl", req.tags))
    )["NetworkAcl"]
    aid = acl["NetworkAclId"]
    for rule in req.get("ingress", []):
        _acl_entry(req, aid, {**rule, "ruleNumber": rule.get("ruleNo")}, egress=False)
    for rule in req.get("egress", []):
        _acl_entry(req, aid, {**rule, "ruleNumber": rule.get("ruleNo")}, egress=True)
    for subnet_id in req.get("subnetIds", []):
        # Every subnet is always associated with one ACL (the default at first): moving it is a replace.
        current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
        association = next(
            a["NetworkAclAssociationId"]
            for existing in current["NetworkAcls"]
            for a in existing["Associations"]
            if a["SubnetId"] == subnet_id
        )
        ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=aid)
    return aid, {
        "arn": _arn(req, "network-acl", aid),
        "ownerId": acl.get("OwnerId", req.account_id),
        "tagsAll": req.tags,
    }


@resource(DEFAULT_NETWORK_ACL, "defaultNetworkAclId ingress egress tags")
def default_network_acl(req: Request) -> Result:
    """Adopts the VPC's default network ACL and leaves it with exactly the declared entries (none: deny all).

    Like the provider, it removes every entry AWS created (rule 100 allow-all, each direction) but the
    unnumbered catch-all deny (32767), which no API can remove.
    """
    ec2 = req.client("ec2")
    aid = req.get("defaultNetworkAclId")
    acl = _one(ec2.describe_network_acls(NetworkAclIds=[aid])["NetworkAcls"], "default network ACL")
    for entry in acl.get("Entries", []):
        if entry["RuleNumber"] < 32767:
            ec2.delete_network_acl_entry(NetworkAclId=aid, RuleNumber=entry["RuleNumber"], Egress=entry["Egress"])
    for rule in req.get("ingress", []):
        _acl_entry(req, aid, {**rule, "ruleNumber": rule.get("ruleNo")}, egress=False)
    for rule in req.get("egress", []):
        _acl_entry(req, aid, {**rule, "ruleNumber": rule.get("ruleNo")}, egress=True)
    _tag(req, aid)
    return aid, {
        "arn": _arn(req, "network-acl", aid),
        "vpcId": acl.get("VpcId", ""),
        "ownerId": acl.get("OwnerId", req.account_id),
        "ingress": req.get("ingress", []),
        "egress": req.get("egress", []),
        "tagsAll": req.tags,
    }


@resource(
    NETWORK_ACL_RULE,
    "networkAclId ruleNumber egress protocol ruleAction cidrBlock ipv6CidrBlock fromPort toPort icmpType icmpCode",
)
def network_acl_rule(req: Request) -> Result:
    egress = bool(req.get("egress", False))
    _acl_entry(req, req.get("networkAclId"), req.inputs, egress=egress)
    key = f"{req.get('networkAclId')}-{req.get('ruleNumber')}-{egress}-{req.get('protocol')}-"
    return f"nacl-{zlib.crc32(key.encode())}", {}


def _permissions(rules: list[dict[str, Any]], own_group: str) -> list[dict[str, Any]]:
    """Security group rules as the provider writes them -> EC2 IpPermissions."""
    perms = []
    for rule in rules:
        protocol = str(rule.get("protocol"))
        groups = [{"GroupId": g} for g in rule.get("securityGroups", [])]
        if rule.get("self"):
            groups.append({"GroupId": own_group})
        description = rule.get("description")
        perm = compact(
            IpProtocol=PROTOCOLS.get(protocol.lower(), protocol),
            IpRanges=[compact(CidrIp=c, Description=description) for c in rule.get("cidrBlocks", [])],
            Ipv6Ranges=[compact(CidrIpv6=c, Description=description) for c in rule.get("ipv6CidrBlocks", [])],
            PrefixListIds=[compact(PrefixListId=p, Description=description) for p in rule.get("prefixListIds", [])],
            UserIdGroupPairs=groups,
        )
        if perm["IpProtocol"] != "-1":
            perm.update(FromPort=rule.get("fromPort"), ToPort=rule.get("toPort"))
        perms.append(perm)
    return perms


def _strip_rules(req: Request, group_id: str) -> None:
    """Remove every rule AWS put on a group (the allow-all egress; on a default group, self ingress too)."""
    ec2 = req.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=group["IpPermissions"])
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])


def _authorize(req: Request, group_id: str) -> None:
    ec2 = req.client("ec2")
    if req.get("ingress"):
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(req.get("ingress"), group_id))
    if req.get("egress"):
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=_permissions(req.get("egress"), group_id))


@resource(
    SECURITY_GROUP,
    "name description vpcId ingress egress tags",
    {"revokeRulesOnDelete": "acts only when the group is deleted"},
)
def security_group(req: Request) -> Result:
    name = req.physical_name()
    created = req.client("ec2").create_security_group(
        **compact(
            GroupName=name,
            Description=req.get("description", "Managed by Pulumi"),
            VpcId=req.get("vpcId"),
            TagSpecifications=ec2_tag_spec("security-group", req.tags),
        )
    )
    gid = created["GroupId"]
    # Like the provider: the group holds exactly the rules declared, not AWS's default allow-all egress.
    _strip_rules(req, gid)
    _authorize(req, gid)
    return gid, {
        "arn": _arn(req, "security-group", gid),
        "name": name,
        "ownerId": req.account_id,
        "ingress": req.get("ingress", []),
        "egress": req.get("egress", []),
        "tagsAll": req.tags,
    }


@resource(DEFAULT_SECURITY_GROUP, "vpcId ingress egress tags")
def default_security_group(req: Request) -> Result:
    """Adopts the VPC's default group and leaves it with exactly the declared rules (none: emptied)."""
    ec2 = req.client("ec2")
    group = _one(
        ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [req.get("vpcId")]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )["SecurityGroups"],
        "default security group",
    )
    gid = group["GroupId"]
    _strip_rules(req, gid)
    _authorize(req, gid)
    _tag(req, gid)
    return gid, {
        "arn": _arn(req, "security-group", gid),
        "name": "default",
        "description": group.get("Description", ""),
        "ownerId": group.get("OwnerId", req.account_id),
        "ingress": req.get("ingress", []),
        "egress": req.get("egress", []),
        "tagsAll": req.tags,
    }


@resource(
    VPC_ENDPOINT,
    "vpcId serviceName vpcEndpointType routeTableIds subnetIds securityGroupIds policy privateDnsEnabled tags",
)
def vpc_endpoint(req: Request) -> Result:
    created = req.client("ec2").create_vpc_endpoint(
        **compact(
            VpcId=req.get("vpcId"),
            ServiceName=req.get("serviceName"),
            VpcEndpointType=req.get("vpcEndpointType", "Gateway"),
            RouteTableIds=req.get("routeTableIds"),
            SubnetIds=req.get("subnetIds"),
            SecurityGroupIds=req.get("securityGroupIds"),
            PolicyDocument=req.get("policy"),
            PrivateDnsEnabled=req.get("privateDnsEnabled"),
            TagSpecifications=ec2_tag_spec("vpc-endpoint", req.tags),
        )
    )["VpcEndpoint"]
    eid = created["VpcEndpointId"]
    extra = {}
    if created.get("VpcEndpointType") == "Gateway":
        # The service's address ranges, as the provider reports them: security groups that send to the service
        # through this endpoint name this prefix list.
        lists = req.client("ec2").describe_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": [req.get("serviceName")]}]
        )["PrefixLists"]
        extra["prefixListId"] = _one(lists, f"prefix list {req.get('serviceName')}")["PrefixListId"]
    return eid, {
        **extra,
        "arn": _arn(req, "vpc-endpoint", eid),
        "ownerId": created.get("OwnerId", req.account_id),
        "policy": created.get("PolicyDocument", req.get("policy", "")),
        "state": created.get("State", "available"),
        "tagsAll": req.tags,
    }


# Nested launch-template flags pulumi-aws types as strings ("true"), which EC2 takes as booleans.
_LT_BOOLEANS = frozenset({"encrypted", "deleteOnTermination", "associatePublicIpAddress", "ebsOptimized"})
_LT_RENAMES = {"securityGroups": "Groups", "vpcSecurityGroupIds": "SecurityGroupIds"}


def _lt_bools(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: as_bool(v) if k in _LT_BOOLEANS else _lt_bools(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lt_bools(v) for v in value]
    return value


@resource(
    LAUNCH_TEMPLATE,
    "name description imageId instanceType iamInstanceProfile metadataOptions monitoring blockDeviceMappings "
    "networkInterfaces vpcSecurityGroupIds userData tagSpecifications ebsOptimized keyName tags",
    {
        "updateDefaultVersion": "on updates the provider makes the new version the default; a new template's "
        "version 1 is the default already"
    },
)
def launch_template(req: Request) -> Result:
    data_keys = _LT_BOOLEANS | {
        "imageId",
        "instanceType",
        "iamInstanceProfile",
        "metadataOptions",
        "monitoring",
        "blockDeviceMappings",
        "networkInterfaces",
        "vpcSecurityGroupIds",
        "userData",
        "keyName",
    }
    data = pascal(_lt_bools({k: v for k, v in req.inputs.items() if k in data_keys}), _LT_RENAMES)
    # Tag keys are data, not property names: they must not go through pascal().
    specs = [ec2_tag_spec(s["resourceType"], s.get("tags") or {}) for s in req.get("tagSpecifications", [])]
    if specs:
        data["TagSpecifications"] = [spec for pair in specs for spec in pair]
    name = req.physical_name()
    created = req.client("ec2").create_launch_template(
        **compact(
            LaunchTemplateName=name,
            VersionDescription=req.get("description"),
            LaunchTemplateData=data,
            TagSpecifications=ec2_tag_spec("launch-template", req.tags),
        )
    )["LaunchTemplate"]
    tid = created["LaunchTemplateId"]
    return tid, {
        "arn": _arn(req, "launch-template", tid),
        "name": name,
        "latestVersion": created["LatestVersionNumber"],
        "defaultVersion": created["DefaultVersionNumber"],
        "tagsAll": req.tags,
    }
