"""What every adapter shares: the request it gets, the registry it joins, and shape helpers.

An adapter turns one registered resource (camelCase inputs, as the engine hands them to a provider) into
boto3 calls against the emulator and returns ``(id, outputs)`` the way the real provider would, so that
downstream resources receive real ids and ARNs. Each adapter declares the inputs it sends to the emulator and
the ones that only the provider acts on (with the reason); an input in neither list stops the deploy, so a
property the program starts setting can never be dropped without anyone noticing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Result = tuple[str, dict[str, Any]]


class ClientFactory(Protocol):
    def __call__(self, service: str, region: str) -> Any: ...


class AdapterError(Exception):
    """The emulator refused or cannot represent what a resource asks for (the engine names the resource)."""


@dataclass(frozen=True)
class Request:
    """One resource to create (or invoke to answer): plain inputs (secrets revealed, whole numbers as int)."""

    name: str
    region: str
    inputs: dict[str, Any]
    default_tags: dict[str, str]
    account_id: str
    partition: str
    clients: ClientFactory = field(repr=False)

    def client(self, service: str) -> Any:
        return self.clients(service, self.region)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.inputs.get(key)
        return default if value is None else value

    @property
    def tags(self) -> dict[str, str]:
        """Provider default tags under the resource's own tags: what AWS ends up holding (``tagsAll``)."""
        return {**self.default_tags, **(self.inputs.get("tags") or {})}

    def physical_name(self, key: str = "name", lower: bool = False) -> str:
        """The name input, else a Pulumi-style auto-name (logical name plus 7 random hex characters)."""
        value = self.inputs.get(key)
        if value:
            return str(value)
        auto = f"{self.name}-{secrets.token_hex(4)[:7]}"
        return auto.lower() if lower else auto

    def arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


Adapter = Callable[[Request], Result]


@dataclass(frozen=True)
class Registration:
    create: Adapter
    handles: frozenset[str]
    provider_side: Mapping[str, str]

    def unsupported_inputs(self, inputs: Iterable[str]) -> list[str]:
        return sorted(set(inputs) - self.handles - set(self.provider_side))


RESOURCES: dict[str, Registration] = {}
InvokeFn = Callable[[Request], dict[str, Any]]
INVOKES: dict[str, InvokeFn] = {}


def resource(token: str, handles: str, provider_side: Mapping[str, str] | None = None) -> Callable[[Adapter], Adapter]:
    """Register the adapter of ``token``; ``handles`` lists (space-separated) the inputs it sends to AWS."""

    def register(fn: Adapter) -> Adapter:
        if token in RESOURCES:
            raise RuntimeError(f"two adapters for {token}")
        RESOURCES[token] = Registration(fn, frozenset(handles.split()), dict(provider_side or {}))
        return fn

    return register


def invoke(token: str) -> Callable[[InvokeFn], InvokeFn]:
    def register(fn: InvokeFn) -> InvokeFn:
        INVOKES[token] = fn
        return fn

    return register


# -- shape helpers -------------------------------------------------------------------------------------------

_FIRST = re.compile(r"^[a-z]")


def pascal(value: Any, renames: Mapping[str, str] | None = None) -> Any:
    """camelCase keys -> the PascalCase of AWS APIs, recursively; ``renames`` for the exceptions."""
    renames = renames or {}
    if isinstance(value, dict):
        return {
            renames.get(k, _FIRST.sub(lambda m: m.group(0).upper(), k)): pascal(v, renames)
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [pascal(v, renames) for v in value]
    return value


def as_bool(value: Any) -> bool | None:
    """pulumi-aws types some nested flags as strings (``encrypted: "true"``); AWS wants booleans."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise AdapterError(f"expected a boolean, got {value!r}")


def tag_list(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def ec2_tag_spec(resource_type: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)}] if tags else []


def compact(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for a boto3 call, leaving out what the program did not set (boto3 rejects None)."""
    return {k: v for k, v in kwargs.items() if v is not None and v != [] and v != {}}
