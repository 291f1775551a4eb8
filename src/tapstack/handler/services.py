"""What one invocation works with: its settings, its clients (created on first use), its time budget, its log."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.runtime import Runtime

from .clients import client, describe
from .outcomes import ServerError
from .settings import LOCK_MARGIN, MAX_LOCK_TTL, RuntimeConfig, Settings, parse_config, settings_from
from .store import Bucket


class Services:
    def __init__(self, settings: Settings, lock_ttl: timedelta, runtime: Runtime) -> None:
        self.settings = settings
        self.lock_ttl = lock_ttl
        self.runtime = runtime

    @classmethod
    def for_invocation(cls, context: object, runtime: Runtime) -> Services:
        """Settings from the function's environment (as deployed: a wrong variable fails here as on AWS); the lock
        lives as long as this invocation can, plus a margin."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        ttl = MAX_LOCK_TTL
        if callable(remaining):
            millis = remaining()
            if isinstance(millis, int | float) and millis > 0:
                ttl = min(MAX_LOCK_TTL, timedelta(milliseconds=millis) + LOCK_MARGIN)
        return cls(settings_from(runtime.environment), ttl, runtime)

    # Clients on first use: each costs 100-300 ms on a cold start, and only validate needs them all.
    @cached_property
    def s3(self) -> Any:
        return client(self.runtime.session, "s3", self.settings.region)

    @cached_property
    def ssm(self) -> Any:
        return client(self.runtime.session, "ssm", self.settings.region)

    @cached_property
    def secrets(self) -> Any:
        return client(self.runtime.session, "secretsmanager", self.settings.region)

    @cached_property
    def sns(self) -> Any:
        return client(self.runtime.session, "sns", self.settings.region)

    @cached_property
    def autoscaling(self) -> Any:
        return client(self.runtime.session, "autoscaling", self.settings.region)

    @cached_property
    def ec2(self) -> Any:
        return client(self.runtime.session, "ec2", self.settings.region)

    @cached_property
    def bucket(self) -> Bucket:
        return Bucket(self.s3, self.settings.bucket)

    def config(self) -> RuntimeConfig:
        """The SSM config, decrypted: if unreadable or invalid, the deployment is at fault (500)."""
        name = self.settings.config_parameter
        try:
            value = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except (ClientError, BotoCoreError) as exc:
            raise ServerError(f"config parameter {name} could not be read: {describe(exc)}") from None
        try:
            return parse_config(value)
        except ValueError as exc:
            raise ServerError(f"config parameter {name} is invalid: {exc}; run validate for details") from None
