"""SSM Parameter Store: parameters (SecureString with the region key) and the getParameter invoke."""

from __future__ import annotations

from typing import Any

from ...resource_types import GET_PARAMETER, PARAMETER
from .base import Request, Result, compact, invoke, resource, tag_list


@resource(
    PARAMETER,
    "name type value insecureValue description keyId tier allowedPattern dataType tags",
    {"overwrite": "decides whether the provider may take over an existing parameter; a new one is created"},
)
def parameter(req: Request) -> Result:
    ssm = req.client("ssm")
    name = req.physical_name()
    value = req.get("value", req.get("insecureValue"))
    version = ssm.put_parameter(
        **compact(
            Name=name,
            Type=req.get("type"),
            Value=value,
            Description=req.get("description"),
            KeyId=req.get("keyId"),
            Tier=req.get("tier"),
            AllowedPattern=req.get("allowedPattern"),
            DataType=req.get("dataType"),
            Tags=tag_list(req.tags),
        )
    )["Version"]
    path = name if name.startswith("/") else f"/{name}"
    return name, {
        "arn": req.arn("ssm", f"parameter{path}"),
        "name": name,
        "version": version,
        "tagsAll": req.tags,
    }


@invoke(GET_PARAMETER)
def get_parameter(req: Request) -> dict[str, Any]:
    found = req.client("ssm").get_parameter(Name=req.get("name"), WithDecryption=req.get("withDecryption", True))[
        "Parameter"
    ]
    return {
        "id": found["Name"],
        "name": found["Name"],
        "arn": found["ARN"],
        "type": found["Type"],
        "value": found["Value"],
        "insecureValue": found["Value"] if found["Type"] != "SecureString" else None,
        "version": found["Version"],
        "withDecryption": req.get("withDecryption", True),
    }
