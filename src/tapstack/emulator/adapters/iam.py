"""IAM roles, their inline and managed policies, instance profiles. IAM is global: the region only signs."""

from __future__ import annotations

import json
from typing import Any

from ...resource_types import INSTANCE_PROFILE, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT
from .base import Request, Result, compact, resource, tag_list


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@resource(
    ROLE,
    "name path description assumeRolePolicy maxSessionDuration permissionsBoundary inlinePolicies "
    "managedPolicyArns tags",
    {"forceDetachPolicies": "acts only when the role is deleted"},
)
def role(req: Request) -> Result:
    iam = req.client("iam")
    name = req.physical_name()
    created = iam.create_role(
        **compact(
            RoleName=name,
            Path=req.get("path"),
            Description=req.get("description"),
            AssumeRolePolicyDocument=_document(req.get("assumeRolePolicy")),
            MaxSessionDuration=req.get("maxSessionDuration"),
            PermissionsBoundary=req.get("permissionsBoundary"),
            Tags=tag_list(req.tags),
        )
    )["Role"]
    for policy in req.get("inlinePolicies", []):
        iam.put_role_policy(RoleName=name, PolicyName=policy["name"], PolicyDocument=_document(policy["policy"]))
    for arn in req.get("managedPolicyArns", []):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return name, {
        "arn": created["Arn"],
        "name": name,
        "uniqueId": created["RoleId"],
        "createDate": created["CreateDate"].isoformat(),
        "path": created.get("Path", "/"),
        "maxSessionDuration": created.get("MaxSessionDuration", 3600),
        "tagsAll": req.tags,
    }


@resource(ROLE_POLICY, "name role policy")
def role_policy(req: Request) -> Result:
    name = req.physical_name()
    role_name = req.get("role")
    req.client("iam").put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=_document(req.get("policy")))
    return f"{role_name}:{name}", {"name": name}


@resource(ROLE_POLICY_ATTACHMENT, "role policyArn")
def role_policy_attachment(req: Request) -> Result:
    role_name, arn = req.get("role"), req.get("policyArn")
    req.client("iam").attach_role_policy(RoleName=role_name, PolicyArn=arn)
    return f"{role_name}/{arn}", {}


@resource(INSTANCE_PROFILE, "name path role tags")
def instance_profile(req: Request) -> Result:
    iam = req.client("iam")
    name = req.physical_name()
    created = iam.create_instance_profile(
        **compact(InstanceProfileName=name, Path=req.get("path"), Tags=tag_list(req.tags))
    )["InstanceProfile"]
    if req.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=req.get("role"))
    return name, {
        "arn": created["Arn"],
        "name": name,
        "uniqueId": created["InstanceProfileId"],
        "createDate": created["CreateDate"].isoformat(),
        "tagsAll": req.tags,
    }
