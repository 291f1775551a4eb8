"""Run the Pulumi program in-process under a Mocks implementation and capture the resource graph.

Both ``synth`` (recording mocks that invent plausible ids and ARNs) and ``up --local`` (the emulator engine
that creates real resources in moto) go through here: one runner, so what we check is what we deploy.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from .graph import PROVIDER_PREFIX, SECRET_PLACEHOLDER, Graph, Resource
from .serialization import check_graph, explain_type_error


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


def reveal(value: Any) -> Any:
    """The plain value with every rpc-secret wrapper removed (for engines that must create the thing)."""
    if rpc.is_rpc_secret(value):
        return reveal(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def to_plain(value: Any) -> Any:
    """JSON-safe form for graph.json: secrets redacted, assets described, resources by URN."""
    if rpc.is_rpc_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"$asset": type(value).__name__, "path": str(value.path)}
    if isinstance(value, pulumi.AssetArchive):
        return {"$asset": "AssetArchive", "assets": {k: to_plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"$asset": "StringAsset", "size": len(value.text)}
    if isinstance(value, pulumi.Resource):
        return {"$resource": "reference"}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def provider_ref_urn(ref: str) -> str:
    """Provider references are ``<urn>::<id>``; the URN is what the graph links."""
    return ref.rsplit("::", 1)[0] if ref else ""


def provider_ref_id(ref: str) -> str:
    return ref.rsplit("::", 1)[1] if "::" in ref else ""


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def _is_plain(value: Any) -> bool:
    """Only JSON's own types, exactly: what the SDK's serializer passes through unchanged (subclasses such as
    enums, and outputs, resources, assets, all take its full path)."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is dict:
        return all(type(key) is str and _is_plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_is_plain(item) for item in value)
    return False


def state_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """The state a mock returned, as the struct the SDK's ``serialize_properties`` makes of it.

    The SDK's serializer is a coroutine per value, run on the worker thread's own event loop
    (``_sync_await``): 85% of the monitor's time in a synth, for states that are plain JSON almost always. A
    plain state is built directly, dropping top-level None as the SDK does; anything else goes the SDK's way.
    tests/unit/program/test_runner.py compares both on every state of a synthesized platform.
    """
    if not _is_plain(state):
        return _sync_await(rpc.serialize_properties(state, {}))
    struct = struct_pb2.Struct()
    for key, value in state.items():
        if value is not None:
            struct[key] = value
    return struct


class GraphMonitor(pmocks.MockMonitor):
    """A MockMonitor that also records parent, provider and dependencies, which Mocks never see.

    It registers resources itself, as ``MockMonitor.RegisterResource`` does, for two reasons: the inputs are
    deserialized once instead of twice, and a mock's state is serialized by :func:`state_struct`.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks, stack: str) -> None:
        super().__init__(mocks)
        self.graph = Graph(stack=stack)
        self._lock = threading.Lock()
        self._regions: dict[str, str | None] = {}
        self._aliases: dict[str, list[str]] = {}

    def _register(self, request: Any) -> tuple[Any, dict[str, Any]]:
        """``MockMonitor.RegisterResource`` for a resource (not the stack), returning the inputs it read too."""
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # type: ignore[no-untyped-call]  # resource references deserialize on it
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=pmocks._resolve_callbacks(request.transforms),
        )
        resource_id, state = self.mocks.new_resource(args)
        struct = state_struct(state)
        # a component's id is None, kept as the SDK keeps it; unset on the wire either way
        self.resources[urn] = pmocks.MockMonitor.ResourceRegistration(urn, resource_id, state)  # type: ignore[arg-type]
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=struct), inputs

    def RegisterResource(self, request: Any) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        try:
            response, inputs = self._register(request)
        except Exception as exn:
            setattr(exn, _REGISTRATION_FAILURE, True)
            raise
        state = self.resources[response.urn].state
        provider = provider_ref_urn(request.provider) or None
        with self._lock:
            aliases = self._alias_urns(request, response.urn)
            self._aliases[response.urn] = aliases
            if request.type.startswith(PROVIDER_PREFIX):
                region = inputs.get("region")
                self._regions[response.urn] = region if isinstance(region, str) else None
            else:
                region = self._regions.get(provider or "")
            self.graph.resources.append(
                Resource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    region=region,
                    provider=provider,
                    parent=request.parent or None,
                    dependencies=sorted(set(request.dependencies)),
                    inputs=to_plain(inputs),
                    outputs=to_plain({"id": response.id, **state}) if request.custom else {},
                    custom=bool(request.custom),
                    aliases=sorted(aliases),
                )
            )
        return response

    def _alias_urns(self, request: Any, urn: str) -> list[str]:
        """Every other URN the engine would match this resource under, computed as its step generator does.

        The SDK sends alias specs to a monitor that supports them (this one does) and leaves the rest to the
        engine: each spec becomes a URN (unset fields are the resource's own), and every alias of the parent
        yields one for the child too (``generateAliases``/``inheritedChildAlias`` in pulumi's step generator),
        which is how the children of a moved component keep their URNs without aliases of their own. URNs are
        built the way this monitor builds them (``make_urn``), so they compare with the graph's own.
        """
        stack, project = urn.removeprefix("urn:pulumi:").split("::", 2)[:2]
        own: list[str] = []
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                own.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            name = spec.name or request.name
            own.append(_urn(spec.stack or stack, spec.project or project, parent, spec.type or request.type, name))
        found = list(own)
        parent_name = request.parent.split("::", 3)[3] if request.parent else ""
        for parent_alias in self._aliases.get(request.parent, []):
            for child_type, child_name in [(request.type, request.name), *(_type_and_name(a) for a in own)]:
                # a child named after its parent ("{name}-x") takes the parent alias's name (inheritedChildAlias)
                if child_name.startswith(parent_name):
                    child_name = parent_alias.split("::", 3)[3] + child_name[len(parent_name) :]
                found.append(_urn(stack, project, parent_alias, child_type, child_name))
        return [a for a in dict.fromkeys(found) if a != urn]


def _urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A URN as ``MockMonitor.make_urn`` builds it: the type qualified by the parent's own (last) type."""
    if parent:
        type_ = parent.split("::", 3)[2].rsplit("$", 1)[-1] + "$" + type_
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _type_and_name(urn: str) -> tuple[str, str]:
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


_REGISTRATION_FAILURE = "tapstack_registration_failure"
_UNRETRIEVED = "Future exception was never retrieved"


def _quiet_settled_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's exception handler, minus the registrations a failed run left unawaited.

    When one registration fails, the runtime stops waiting and raises it to ``run``'s caller; registrations
    that failed in the meantime (the same cause, usually) are futures nobody awaits, and asyncio would print
    each with a traceback when they are collected, long after the caller handled the failure.
    """
    exception = context.get("exception")
    if context.get("message") == _UNRETRIEVED and getattr(exception, _REGISTRATION_FAILURE, False):
        return
    loop.default_exception_handler(context)


@contextmanager
def _without_source_positions() -> Iterator[None]:
    """No Python stack captured per resource for the time of a run under mocks.

    The SDK records where each resource was declared (``traceback.extract_stack``, which also reads the source
    line of every frame) for the engine to show; under mocks there is no engine and the graph does not keep it.
    That capture is about a fifth of a warm three-region synth in one process, 8% of a whole-process one.
    ``pulumi up`` never comes here: the real program keeps its source positions.
    """
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime.proto import source_pb2

    captured = getattr(sdk_resource, "_get_stack_trace", None)
    if captured is None:  # an SDK without the hook: nothing to leave out
        yield
        return
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = captured


@contextmanager
def _monitor_calls_inline(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """The runtime's calls to the monitor made on the loop's own thread, for the time of a run.

    The SDK sends every registration through the loop's thread pool (``run_in_executor``), as it would a gRPC
    call to the engine. Mocks that only compute answer in microseconds, and the hop costs more than the answer:
    a worker thread, the loop woken through its self-pipe, the GIL handed back and forth (whole-process 3-region
    synth about 4% faster without it, same graph). Mocks that do I/O keep the pool: the emulator engine's creates
    wait on moto and overlap there.
    """

    def inline(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        done = loop.create_future()
        try:
            done.set_result(func(*args))
        except Exception as exn:  # delivered through the future, as the pool would
            done.set_exception(exn)
        return done

    loop.run_in_executor = inline  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        del loop.run_in_executor


def _load_config(config: Mapping[str, Any], secret_keys: list[str]) -> None:
    """Pulumi keeps structured config as JSON strings; mirror what the CLI hands a real program."""
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(values, secret_keys)


def run(
    program: Callable[[], None],
    mocks: pulumi.runtime.Mocks,
    *,
    project: str,
    stack: str,
    config: Mapping[str, Any],
    secret_keys: list[str] | None = None,
    redact_secret_outputs: bool = True,
    mocks_compute_only: bool = False,
) -> Graph:
    """Execute ``program`` with fresh runtime state and return the graph, stack outputs resolved.

    ``mocks_compute_only``: the mocks do no I/O, so the monitor is called inline (:func:`_monitor_calls_inline`).
    """
    settings.reset_options(project=project, stack=stack)
    _load_config(config, secret_keys or [])
    monitor = GraphMonitor(mocks, stack)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    root = settings.get_root_resource()
    outputs: dict[str, Any] = {}

    async def resolve_outputs() -> None:
        for key, value in root.outputs.items():  # type: ignore[union-attr]
            out = pulumi.Output.from_input(value)
            resolved = await out.future()
            hide = redact_secret_outputs and await out.is_secret()
            outputs[key] = SECRET_PLACEHOLDER if hide else to_plain(resolved)

    def main() -> Any:
        program()
        return resolve_outputs()

    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    if loop.get_exception_handler() is not _quiet_settled_failures:
        loop.set_exception_handler(_quiet_settled_failures)
    inline = _monitor_calls_inline(loop) if mocks_compute_only else nullcontext()
    try:
        with _without_source_positions(), inline:
            _sync_await(run_pulumi_func(main))
    except TypeError as err:
        explained = explain_type_error(err)
        if explained is None:
            raise
        raise explained from err
    monitor.graph.outputs = outputs
    check_graph(monitor.graph)
    return monitor.graph
