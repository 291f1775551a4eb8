"""KMS keys (with rotation) and aliases."""

from __future__ import annotations

from ...resource_types import KMS_ALIAS, KMS_KEY, KMS_KEY_POLICY
from .base import Request, Result, compact, resource, tag_list


@resource(
    KMS_KEY,
    "description keyUsage customerMasterKeySpec policy multiRegion enableKeyRotation rotationPeriodInDays "
    "bypassPolicyLockoutSafetyCheck isEnabled tags",
    {"deletionWindowInDays": "acts only when the key is scheduled for deletion"},
)
def key(req: Request) -> Result:
    kms = req.client("kms")
    created = kms.create_key(
        **compact(
            Description=req.get("description"),
            KeyUsage=req.get("keyUsage"),
            KeySpec=req.get("customerMasterKeySpec"),
            Policy=req.get("policy"),
            MultiRegion=req.get("multiRegion"),
            BypassPolicyLockoutSafetyCheck=req.get("bypassPolicyLockoutSafetyCheck"),
            Tags=tag_list(req.tags, "TagKey", "TagValue"),
        )
    )["KeyMetadata"]
    key_id = created["KeyId"]
    if req.get("enableKeyRotation"):
        kms.enable_key_rotation(**compact(KeyId=key_id, RotationPeriodInDays=req.get("rotationPeriodInDays")))
    if req.get("isEnabled") is False:
        kms.disable_key(KeyId=key_id)
    return key_id, {
        "arn": created["Arn"],
        "keyId": key_id,
        "keyUsage": created.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "customerMasterKeySpec": created.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
        "tagsAll": req.tags,
    }


@resource(KMS_ALIAS, "name targetKeyId")
def alias(req: Request) -> Result:
    kms = req.client("kms")
    name = req.physical_name()
    kms.create_alias(AliasName=name, TargetKeyId=req.get("targetKeyId"))
    target = kms.describe_key(KeyId=req.get("targetKeyId"))["KeyMetadata"]
    return name, {"arn": req.arn("kms", name), "name": name, "targetKeyArn": target["Arn"]}


@resource(KMS_KEY_POLICY, "keyId policy bypassPolicyLockoutSafetyCheck")
def key_policy(req: Request) -> Result:
    """PutKeyPolicy on the key's one policy (``default``), as the provider writes it."""
    key_id = req.get("keyId")
    req.client("kms").put_key_policy(
        **compact(
            KeyId=key_id,
            PolicyName="default",
            Policy=req.get("policy"),
            BypassPolicyLockoutSafetyCheck=req.get("bypassPolicyLockoutSafetyCheck"),
        )
    )
    return str(key_id), {"keyId": key_id, "policy": req.get("policy")}
