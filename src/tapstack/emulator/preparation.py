"""moto, prepared once per process: imported, its patch targets checked, patched, and its routing built.

moto builds its routing lazily: a service's application on its first request, and each service's operation router
(per protocol) on the first request that needs it, in whichever request thread comes first and without a lock.
werkzeug compiles every URL rule with ``ast``, and CPython 3.11.7's ``ast`` is not safe to use from two threads at
once (gh-106905: ``SystemError: AST constructor recursion depth mismatch``). So both are built for every service
TapStack calls before the server answers anything (``prepared``), and any build moto still does later (a service
outside that list) happens under one process-wide lock.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

from . import kms_keys, managed_policies, moto_fidelity, patches
from .loopback import LOOPBACK
from .sessions import client
from .wsgi import WsgiApp

SERVICES = (
    "autoscaling",
    "cloudwatch",
    "ec2",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
"""Every service TapStack, its handler, agent and tests call: routing and models prepared before serving."""
_SIGNING_NAMES = {"cloudwatch": "monitoring"}



_routing_lock = threading.RLock()
"""Held around every werkzeug routing build of moto in this process: one ``ast`` user at a time."""
_apps: dict[str, Any] = {}
_prepare_lock = threading.Lock()
_ready = False


def _build_app(backend: str) -> Any:
    """moto's application of one service, built (routing compiled) once per process, one build at a time."""
    from moto.moto_server.werkzeug_app import create_backend_app

    with _routing_lock:
        if backend not in _apps:
            _apps[backend] = create_backend_app(backend)  # type: ignore[arg-type]
        return _apps[backend]


def _routers_under_lock() -> None:
    """moto builds each service's operation router on first use, in a request thread: serialize those builds."""
    from moto.core.routing import ServiceOperationRouter

    original = ServiceOperationRouter._get_router
    if getattr(original, "serialized", False):
        return

    def get_router(router: Any, protocol: str) -> Any:
        with _routing_lock:
            return original(router, protocol)

    get_router.serialized = True  # type: ignore[attr-defined]
    ServiceOperationRouter._get_router = patches.mark(get_router, original)  # type: ignore[method-assign,assignment]


def _build_operation_routers(service: str) -> None:
    from moto.core.routing import get_router_class, get_service_router

    router = get_service_router(service)
    model = router._service_model
    for protocol in {str(model.protocol), *model.metadata.get("protocols", [])}:
        if get_router_class(model.service_name, protocol) is not None:
            router._get_router(protocol)


def _import_moto_ec2_regions() -> None:
    """Import moto's EC2 region table with one boto3 session instead of three.

    The table is built while the module is imported, by asking three new ``boto3.Session()`` objects for the
    regions of each partition; every new session loads botocore's endpoint data again: 0.27 s against 0.06 s for
    one session (measured here), on every emulator start. ``Session`` is replaced for the length of that import
    only, and the module gets the real class back.
    """
    name = "moto.ec2.models.availability_zones_and_regions"
    if name in sys.modules:
        return
    import boto3

    real = boto3.Session
    shared = real()
    boto3.Session = lambda *args, **kwargs: shared if not args and not kwargs else real(*args, **kwargs)
    try:
        module = importlib.import_module(name)
    finally:
        boto3.Session = real
    setattr(module, "Session", real)  # noqa: B010 (the module's own name for the class, rebound)


def _prepare() -> None:
    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    _import_moto_ec2_regions()

    # The program attaches the AWS managed policy AmazonSSMManagedInstanceCore: moto only knows AWS
    # managed policies when told to load them, before its IAM backend is first used.
    default_user_config["iam"]["load_aws_managed_policies"] = True
    managed_policies.install()
    kms_keys.install()
    moto_fidelity.install()
    probe = DomainDispatcherApplication(_build_app)
    backends = {probe.get_backend_for_host("moto_api")}
    for service in SERVICES:
        backends.add(probe.get_backend_for_host(f"{_SIGNING_NAMES.get(service, service)}.us-east-1.amazonaws.com"))
    for backend in sorted(filter(None, backends)):
        _build_app(backend)
    _routers_under_lock()
    for service in SERVICES:
        _build_operation_routers(service)
    for service in SERVICES:  # loads each service model into the shared session; no request is sent
        client(service, "us-east-1", f"http://{LOOPBACK}:9", None)


def prepared() -> None:
    """moto imported, checked, patched and routed: once per process, by the first emulator to start."""
    global _ready
    with _prepare_lock:
        if not _ready:
            _prepare()
            _ready = True


def dispatcher() -> WsgiApp:
    prepared()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class Dispatcher(DomainDispatcherApplication):
        """moto's dispatcher, remembering which backend serves which host.

        moto resolves the host of every request under one lock, listing its package directory and stat-ing
        each of its ~150 service folders each time (``list_of_moto_modules``): in a profile of a local deploy,
        two thirds of the request threads' samples were there, most of them waiting on that lock. The answer
        only depends on the host, so it is worked out once per host.
        """

        def __init__(self) -> None:
            super().__init__(_build_app)
            self._backend_of: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backend_of:
                self._backend_of[host] = super().get_backend_for_host(host)
            return self._backend_of[host]

    dispatcher = Dispatcher()
    dispatcher.app_instances.update(_apps)
    return dispatcher
