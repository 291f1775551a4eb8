"""Reading a Pulumi stack file (``Pulumi.<stack>.yaml``) plus ``--set`` overrides into runtime config.

This is what the Pulumi CLI would hand the program; we need it for synth and local deploys, where the CLI
cannot run. Plain-text values for keys that must be secrets are refused rather than silently accepted.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config import NAMESPACE
from .errors import TapStackError

SECRET_KEYS = frozenset({"migrationToken"})


class StackFileError(TapStackError, ValueError):
    """The stack file or an override cannot be used; the message names the file or key."""


@dataclass
class StackSettings:
    """Config for one run: fully-qualified keys (``tapstack:regions``) to values, and which are secret."""

    stack: str
    values: dict[str, Any] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    source: str = "defaults"


def _qualify(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _parse_value(raw: str) -> Any:
    """``--set regions='["us-east-1","eu-west-1"]'`` and ``--set azCount=3`` both do what users expect."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def load(path: Path | None, sets: Iterable[str] = (), stack: str | None = None) -> StackSettings:
    """Load the stack file (if any) and apply ``key=value`` overrides."""
    settings = StackSettings(stack=stack or "dev")
    if path is not None:
        if not path.is_file():
            raise StackFileError(f"{path}: no such stack file")
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise StackFileError(f"{path}: not valid YAML ({err})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
            raise StackFileError(f"{path}: expected a mapping with a 'config:' section")
        name = path.name
        if stack is None and name.startswith("Pulumi.") and name.endswith(".yaml") and name.count(".") == 2:
            settings.stack = name.split(".")[1]
        settings.source = str(path)
        for key, value in (doc.get("config") or {}).items():
            qualified = _qualify(str(key))
            if isinstance(value, dict) and "secure" in value:
                raise StackFileError(
                    f"{path}: {qualified} is encrypted for the Pulumi CLI and cannot be read here; for local "
                    f"runs remove it from the file and set the TAPSTACK_MIGRATION_TOKEN environment variable"
                )
            if qualified.split(":", 1)[1] in SECRET_KEYS:
                raise StackFileError(
                    f"{path}: {qualified} must not be stored in plain text; "
                    f"use `pulumi config set --secret {qualified} ...`"
                )
            settings.values[qualified] = value
    for item in sets:
        if "=" not in item:
            raise StackFileError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        if not key.strip():
            raise StackFileError(f"--set {item!r}: empty key")
        settings.values[_qualify(key.strip())] = _parse_value(raw)
    return settings


def with_local_secret(settings: StackSettings) -> StackSettings:
    """Local runs need a migration token; take it from the environment or make a throwaway one."""
    key = f"{NAMESPACE}:migrationToken"
    if key not in settings.values:
        settings.values[key] = os.environ.get("TAPSTACK_MIGRATION_TOKEN") or secrets.token_urlsafe(24)
    if key not in settings.secret_keys:
        settings.secret_keys.append(key)
    return settings
