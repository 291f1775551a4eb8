"""Secrets Manager secrets and their versions."""

from __future__ import annotations

from ...resource_types import SECRET, SECRET_POLICY, SECRET_ROTATION, SECRET_VERSION
from .base import Request, Result, compact, resource, tag_list


@resource(
    SECRET,
    "name description kmsKeyId policy tags",
    {
        "recoveryWindowInDays": "acts only when the secret is deleted",
        "forceOverwriteReplicaSecret": "acts only on replica secrets, which TapStack does not create",
    },
)
def secret(req: Request) -> Result:
    client = req.client("secretsmanager")
    name = req.physical_name()
    arn = client.create_secret(
        **compact(
            Name=name,
            Description=req.get("description"),
            KmsKeyId=req.get("kmsKeyId"),
            Tags=tag_list(req.tags),
        )
    )["ARN"]
    if req.get("policy"):
        client.put_resource_policy(SecretId=arn, ResourcePolicy=req.get("policy"))
    return arn, {"arn": arn, "name": name, "tagsAll": req.tags}


@resource(SECRET_VERSION, "secretId secretString secretBinary versionStages")
def secret_version(req: Request) -> Result:
    created = req.client("secretsmanager").put_secret_value(
        **compact(
            SecretId=req.get("secretId"),
            SecretString=req.get("secretString"),
            SecretBinary=req.get("secretBinary"),
            VersionStages=req.get("versionStages"),
        )
    )
    return f"{created['ARN']}|{created['VersionId']}", {
        "arn": created["ARN"],
        "versionId": created["VersionId"],
        "versionStages": created.get("VersionStages", ["AWSCURRENT"]),
    }


@resource(SECRET_POLICY, "secretArn policy blockPublicPolicy")
def secret_policy(req: Request) -> Result:
    arn = req.get("secretArn")
    req.client("secretsmanager").put_resource_policy(
        **compact(SecretId=arn, ResourcePolicy=req.get("policy"), BlockPublicPolicy=req.get("blockPublicPolicy"))
    )
    return str(arn), {"secretArn": arn}


@resource(
    SECRET_ROTATION,
    "secretId rotationLambdaArn rotationRules rotateImmediately",
)
def secret_rotation(req: Request) -> Result:
    """RotateSecret as AWS runs it: the function is invoked for each step (in-process: emulator/lambda_invoke.py)."""
    rules = req.get("rotationRules", {})
    client = req.client("secretsmanager")
    arn = req.get("secretId")
    client.rotate_secret(
        **compact(
            SecretId=arn,
            RotationLambdaARN=req.get("rotationLambdaArn"),
            RotationRules=compact(
                AutomaticallyAfterDays=rules.get("automaticallyAfterDays"),
                Duration=rules.get("duration"),
                ScheduleExpression=rules.get("scheduleExpression"),
            ),
            RotateImmediately=req.get("rotateImmediately"),
        )
    )
    described = client.describe_secret(SecretId=arn)
    return str(arn), {
        "secretId": arn,
        "rotationEnabled": bool(described.get("RotationEnabled")),
        "rotationLambdaArn": described.get("RotationLambdaARN", ""),
    }
