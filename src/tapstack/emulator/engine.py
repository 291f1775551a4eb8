"""The emulator engine: a ``pulumi.runtime.Mocks`` that creates every resource in the emulator through boto3.

It is the real counterpart of ``synth.RecordingMocks``: same program, same runner, but each registration
becomes AWS calls in the region of the resource's provider, and the ids, ARNs and attributes returned are the
emulator's, so downstream resources are built from real values. The Pulumi runtime registers resources from
several threads at once; boto3 clients are created once per (service, region) and shared (clients themselves
are thread-safe), from the emulator's sealed session (``server.client``): they reach the emulator and nothing
else, whatever the environment says.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import runner
from .adapters import INVOKES, RESOURCES
from .adapters.base import AdapterError, Request
from .server import Emulator

AWS_PROVIDER = "pulumi:providers:aws"


class DeployError(Exception):
    """A resource could not be created in the emulator; the message names it, its type and the cause."""


class Clients:
    """boto3 clients against the emulator, one per (service, region), created once under a lock."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # Path-style S3 addressing: the endpoint is an IP address, bucket subdomains cannot resolve.
        self._config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"})
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.emulator.client(service, region, self._config)
            return self._clients[key]


@dataclass(frozen=True)
class Event:
    """Progress of one resource, for the command's progress bar."""

    kind: Literal["start", "done"]
    type: str
    name: str
    region: str


@dataclass(frozen=True)
class _Provider:
    region: str
    default_tags: dict[str, str]


def plain(value: Any) -> Any:
    """Secrets revealed, whole numbers as int: the runtime hands every number over as a float."""
    value = runner.reveal(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _default_tags(raw: Any) -> dict[str, str]:
    """Provider config reaches the provider JSON-encoded (``defaultTags: '{"tags": {...}}'``)."""
    if isinstance(raw, str):
        raw = json.loads(raw) if raw else {}
    tags = (raw or {}).get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()}


class Engine(pulumi.runtime.Mocks):
    """Creates each registered resource in the emulator and returns what the emulator returned."""

    def __init__(self, emulator: Emulator, on_event: Callable[[Event], None] | None = None) -> None:
        self.clients = Clients(emulator)
        self._on_event = on_event or (lambda _event: None)
        self._providers: dict[str, _Provider] = {}
        self._lock = threading.Lock()
        self.failures: list[DeployError] = []
        """Every failure, in order: the runtime may surface a later, derived one; the first is the cause."""
        identity = self.clients("sts", "us-east-1").get_caller_identity()
        self.account_id: str = identity["Account"]
        self.partition: str = identity["Arn"].split(":")[1]

    # -- pulumi.runtime.Mocks -------------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:  # components: nothing to create
            return None, {}
        try:
            return self._provider(args) if args.typ == AWS_PROVIDER else self._create(args)
        except DeployError as err:
            with self._lock:
                self.failures.append(err)
            raise

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        try:
            return self._invoke(args), []
        except DeployError as err:
            with self._lock:
                self.failures.append(err)
            raise

    # -- internals ------------------------------------------------------------------------------------------

    def _provider(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        region = args.inputs.get("region")
        if not isinstance(region, str) or not region:
            raise DeployError(f"provider {args.name!r} has no region: every TapStack provider is region-scoped")
        pid = str(uuid.uuid4())
        with self._lock:
            self._providers[pid] = _Provider(region, _default_tags(args.inputs.get("defaultTags")))
        return pid, dict(args.inputs)

    def _provider_of(self, provider_ref: str | None, what: str) -> _Provider:
        provider = self._providers.get(runner.provider_ref_id(provider_ref or ""))
        if provider is None:
            raise DeployError(
                f"{what}: no explicit region-scoped provider; the emulator deploys only through the "
                f"program's per-region providers (resources on the default provider are a bug: TAP001)"
            )
        return provider

    def _create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        label = f"{args.name} ({args.typ})"
        if args.resource_id:
            raise DeployError(f"{label}: reading an existing resource is not supported by the emulator")
        registration = RESOURCES.get(args.typ)
        if registration is None:
            raise DeployError(
                f"{label}: no emulator adapter for type {args.typ}; supported types: {', '.join(sorted(RESOURCES))}"
            )
        provider = self._provider_of(args.provider, label)
        inputs = plain(dict(args.inputs))
        unsupported = registration.unsupported_inputs(inputs)
        if unsupported:
            raise DeployError(
                f"{label}: the emulator adapter does not handle input(s) {', '.join(unsupported)}; "
                f"handled: {', '.join(sorted(registration.handles))}"
            )
        self._on_event(Event("start", args.typ, args.name, provider.region))
        with _aws_errors(f"{label} in {provider.region}"):
            rid, outputs = registration.create(self._request(args.name, provider, inputs))
        self._on_event(Event("done", args.typ, args.name, provider.region))
        # The state keeps the inputs as given (secret ones stay secret) under what the emulator computed.
        return rid, {**args.inputs, **outputs}

    def _invoke(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        label = f"invoke {args.token}"
        provider = self._provider_of(args.provider, label)
        fn = INVOKES.get(args.token)
        if fn is None:
            raise DeployError(f"{label}: the emulator has no answer for it; supported: {', '.join(sorted(INVOKES))}")
        with _aws_errors(f"{label} in {provider.region}"):
            return fn(self._request(args.token, provider, plain(dict(args.args))))

    def _request(self, name: str, provider: _Provider, inputs: dict[str, Any]) -> Request:
        return Request(
            name=name,
            region=provider.region,
            inputs=inputs,
            default_tags=provider.default_tags,
            account_id=self.account_id,
            partition=self.partition,
            clients=self.clients,
        )


@contextlib.contextmanager
def _aws_errors(label: str) -> Iterator[None]:
    """An AWS refusal or an adapter's own finding, as one DeployError naming what failed."""
    try:
        yield
    except ClientError as err:
        error = err.response.get("Error", {})
        raise DeployError(f"{label}: AWS error {error.get('Code', '?')}: {error.get('Message', err)}") from None
    except (AdapterError, BotoCoreError) as err:
        raise DeployError(f"{label}: {err}") from None
