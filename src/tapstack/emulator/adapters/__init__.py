"""Adapters, one module per AWS service, and the registries they fill: type or invoke token -> adapter."""

from __future__ import annotations

from . import autoscaling, cloudwatch, ec2, iam, index, kms, lambda_, s3, secretsmanager, sns, sqs, ssm  # noqa: F401
from .base import INVOKES, RESOURCES

__all__ = ["INVOKES", "RESOURCES"]
