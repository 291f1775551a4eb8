"""Reading a Pulumi stack file (``Pulumi.<stack>.yaml``) plus ``--set`` overrides into runtime config.

This is what the Pulumi CLI would hand the program; we need it for synth and local deploys, where the CLI
cannot run. A stack file is input we did not write, so it is read defensively: UTF-8 only, bounded in size,
no YAML aliases (a few lines of them expand into gigabytes), no key given twice (PyYAML keeps the last one
without a word), and no ``tapstack:`` key that TapStack does not know (a typo would fall back to a default).
Plain-text values for keys that must be secrets are refused rather than silently accepted.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from .config import BY_KEY, NAMESPACE, ConfigError, check_key
from .errors import TapStackError

SECRET_KEYS = frozenset(s.key for s in BY_KEY.values() if s.secret)
MAX_STACK_FILE_BYTES = 1024 * 1024
"""Far above any real stack file (the examples are under 2 KB), far below what could exhaust memory."""


class StackFileError(TapStackError, ValueError):
    """The stack file or an override cannot be used; the message names the file or key."""


@dataclass
class StackSettings:
    """Config for one run: fully-qualified keys (``tapstack:regions``) to values, and which are secret."""

    stack: str
    values: dict[str, Any] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    source: str = "defaults"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and duplicate keys, each with the line it was found on."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            shown = f"*{anchor}" if isinstance(event, yaml.AliasEvent) else f"&{anchor}"
            raise yaml.MarkedYAMLError(
                problem=f"{shown}: YAML anchors and aliases are not allowed in stack files; write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"key {key!r} appears more than once (each key may appear once)",
                    problem_mark=key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _qualify(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _parse_value(raw: str) -> Any:
    """``--set regions='["us-east-1","eu-west-1"]'`` and ``--set azCount=3`` both do what users expect."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _is_secret(qualified: str) -> bool:
    namespace, _, key = qualified.partition(":")
    return namespace == NAMESPACE and key in SECRET_KEYS


def _check(qualified: str, value: Any) -> None:
    namespace, _, key = qualified.partition(":")
    if namespace == NAMESPACE:
        check_key(key, value)


def _read_document(path: Path) -> Any:
    if not path.is_file():
        raise StackFileError(f"{path}: no such stack file")
    size = path.stat().st_size
    if size > MAX_STACK_FILE_BYTES:
        raise StackFileError(f"{path}: {size} bytes; a stack file may have at most {MAX_STACK_FILE_BYTES} bytes")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise StackFileError(
            f"{path}: byte 0x{data[err.start]:02x} at offset {err.start} is not UTF-8; save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise StackFileError(f"{path}: {where}{err.problem}") from None
    except yaml.YAMLError as err:
        raise StackFileError(f"{path}: not valid YAML ({err})") from None


def load(path: Path | None, sets: Iterable[str] = (), stack: str | None = None) -> StackSettings:
    """Load the stack file (if any) and apply ``key=value`` overrides."""
    settings = StackSettings(stack=stack or "dev")
    if path is not None:
        doc = _read_document(path) or {}
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
            if qualified in settings.values:
                raise StackFileError(f"{path}: {qualified} is given twice (once with the '{NAMESPACE}:' prefix)")
            if _is_secret(qualified):
                raise StackFileError(
                    f"{path}: {qualified} must not be stored in plain text; "
                    f"use `pulumi config set --secret {qualified} ...`"
                )
            try:
                _check(qualified, value)
            except ConfigError as err:
                raise StackFileError(f"{path}: {err}") from None
            settings.values[qualified] = value
    for item in sets:
        if "=" not in item:
            raise StackFileError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        if not key.strip():
            raise StackFileError(f"--set {item!r}: empty key")
        qualified = _qualify(key.strip())
        if _is_secret(qualified):
            raise StackFileError(
                f"--set {qualified}: a secret on the command line lands in shell history and the process list "
                f"(value not shown); set the TAPSTACK_MIGRATION_TOKEN environment variable for local runs, or "
                f"`pulumi config set --secret {qualified}` for a Pulumi stack"
            )
        value = _parse_value(raw)
        _check(qualified, value)
        settings.values[qualified] = value
    return settings


def with_local_secret(settings: StackSettings) -> StackSettings:
    """Local runs need a migration token; take it from the environment or make a throwaway one."""
    key = f"{NAMESPACE}:migrationToken"
    if key not in settings.values:
        settings.values[key] = os.environ.get("TAPSTACK_MIGRATION_TOKEN") or secrets.token_urlsafe(24)
    if key not in settings.secret_keys:
        settings.secret_keys.append(key)
    return settings
