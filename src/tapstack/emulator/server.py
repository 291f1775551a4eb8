"""The emulator endpoint: moto served in-process over TLS on 127.0.0.1, or an existing loopback endpoint.

Nothing here ever listens on or talks to another address: a local deploy must not be able to reach a real
account by accident, so an ``--endpoint`` that is not loopback is refused before any request is made.

Why TLS on loopback: every TapStack bucket carries a TLS-only policy (deny when ``aws:SecureTransport`` is
false), and the emulator evaluates it like AWS does (``moto_fidelity``). Over plain http the deployed buckets
would refuse every object request, exactly as they would in AWS. The certificate is self-signed for 127.0.0.1,
made at start, and handed to every client as its CA bundle (``AWS_CA_BUNDLE`` for the handler and the shell).

The clients the emulator builds come from one sealed boto3 session (``client``): it reads no ``AWS_*``
variable, no shared config or credentials file and no proxy setting, and each client names the emulator as
its endpoint, so ``AWS_ENDPOINT_URL_<SERVICE>``, a profile's ``endpoint_url`` or ``HTTPS_PROXY`` cannot send
a request elsewhere. Sharing the session also shares its loaded service models: a client costs ~12 ms
instead of the ~70 ms of a fresh session.

moto builds its routing lazily: a service's application on its first request, and each service's
operation router (per protocol) on the first request that needs it, in whichever request thread comes first
and without a lock. werkzeug compiles every URL rule with ``ast``, and CPython 3.11.7's ``ast`` is not safe
to use from two threads at once (gh-106905: ``SystemError: AST constructor recursion depth mismatch``). So
both are built for every service TapStack calls before the server answers anything (``_prepared``), and any
build moto still does later (a service outside that list) happens under one process-wide lock.
"""

from __future__ import annotations

import datetime as dt
import importlib
import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

from ..errors import TapStackError
from . import kms_keys, lambda_invoke, managed_policies, moto_fidelity, patches, quotas, replication
from .wsgi import WsgiApp

LOOPBACK = "127.0.0.1"
# Every request to the emulator is signed with these; moto accepts any key until IAM enforcement is on.
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"
POLL_SECONDS = 0.05
STOP_SECONDS = 5.0
"""The longest ``stop`` waits for the serving thread (it notices a stop within POLL_SECONDS): a stop that a
stuck connection could hold up for ever would leave Ctrl-C and SIGTERM unanswered. Past it, the listening
socket and every connection are closed anyway and the daemon thread is left to the process's exit."""
"""How often the serving thread looks for a stop request: ``stop()`` takes at most this long."""
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


class EmulatorError(TapStackError, RuntimeError):
    """The emulator cannot be started, reached or driven; the message says which endpoint and why."""


def check_loopback(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL on a loopback address; else EmulatorError."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.port is None:
        raise EmulatorError(f"--endpoint {url!r}: expected https://{LOOPBACK}:PORT")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise EmulatorError(
            f"--endpoint {url!r}: {host} is not a loopback address; the emulator is only ever reached on "
            f"{LOOPBACK} so that a local deploy cannot touch anything else"
        )
    return f"{parts.scheme}://{host}:{parts.port}"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, valid for a day: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TapStack emulator ({LOOPBACK})")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _in_account(app: WsgiApp, account_id: str) -> WsgiApp:
    """Every request this server answers acts in its account, unless the caller names another one."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", account_id)
        return app(environ, start_response)

    return serve


FLEET_PATH = "/moto-api/tapstack/fleet"
"""Where an emulator says whether a fleet lives in it (``Emulator.fleet``): JSON, null when none does."""


def _fleet_status(app: WsgiApp, served: list[Emulator]) -> WsgiApp:
    """Answer ``FLEET_PATH`` with the serving emulator's ``fleet``; every other request goes to moto."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != FLEET_PATH:
            return app(environ, start_response)
        body = json.dumps(served[0].fleet if served else None).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return serve


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C: every cleanup that runs on Ctrl-C (stop, key removal) runs on it too."""

    exit_code = 128 + signal.SIGTERM


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread; the previous handler is restored after.

    A supervisor, ``timeout`` or ``kill`` stops a local deploy with SIGTERM, whose default action ends the
    process without unwinding: the emulator's TLS private key would stay in the temp folder. Raised as an
    exception, it unwinds through ``Emulator.__exit__`` / ``stop()`` like Ctrl-C. Outside the main thread
    (where Python cannot install handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- boto3 clients that reach the emulator and nothing else ------------------------------------------------

_session_lock = threading.Lock()
_session: Any | None = None


def _session_without_files(environment: dict[str, tuple[str | None, Any]], loader: Any | None = None) -> Any:
    """A botocore session whose settings come from their defaults, never from a config or credentials file,
    and from the process environment only for the ``environment`` variables named (name -> (env var, default)).
    """
    import botocore.session
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES

    variables: dict[str, tuple[None, str | None, Any, Any]] = {
        name: (None, None, default, convert)
        for name, (_, _, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    variables["config_file"] = variables["credentials_file"] = (None, None, os.devnull, None)
    for name, (env_var, default) in environment.items():
        variables[name] = (None, env_var, default, variables[name][3])
    core = botocore.session.Session(session_vars=variables)
    if loader is not None:  # loaded service models are shared: a client then costs ~12 ms, not ~70
        core.register_component("data_loader", loader)
    return core


def _sealed_session() -> Any:
    """The process's one boto3 session that reads nothing from the environment or the user's AWS files."""
    global _session
    if _session is None:
        import boto3

        core = _session_without_files({"ignore_configured_endpoint_urls": (None, True)})
        _session = boto3.session.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY, aws_secret_access_key=DUMMY_SECRET_KEY, botocore_session=core
        )
    return _session


def handler_session() -> Any:
    """A new session for code that configures its clients from the environment, as a handler does in Lambda.

    It follows the process environment's ``AWS_ENDPOINT_URL*``, ``AWS_CA_BUNDLE`` and credentials (which the
    in-process invocation points at the emulator and the function's role) and nothing else: no config or
    credentials file, no profile, no ``ignore_configured_endpoint_urls``. New for each invocation, as each
    Lambda execution environment's is: a session keeps the credentials it resolved first, and one shared
    session would hand the role of an earlier function to the next. It shares the sealed session's loaded
    models, so it costs little.
    """
    import boto3

    with _session_lock:
        loader = _sealed_session()._session.get_component("data_loader")
        core = _session_without_files({"ca_bundle": ("AWS_CA_BUNDLE", None)}, loader)
    return boto3.session.Session(botocore_session=core)


def client(
    service: str,
    region: str,
    endpoint: str,
    ca_bundle: Path | None,
    config: Any | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """A boto3 client of ``service`` that talks to ``endpoint`` (a loopback emulator) and only to it.

    ``credentials`` (STS's ``AccessKeyId``/``SecretAccessKey``/``SessionToken``) make it act as that role
    session, as an instance's agent does; the client still comes from the one sealed session, whose parsed
    service models a session of its own would parse again (~40 ms per instance pass for s3 and sts).
    Thread-safe: botocore sessions are not safe to create clients from concurrently, clients are.
    """
    from botocore.config import Config

    sealed = Config(proxies={}, ignore_configured_endpoint_urls=True)
    acting_as = (
        {}
        if credentials is None
        else {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    )
    with _session_lock:
        return _sealed_session().client(
            service,
            region_name=region,
            endpoint_url=check_loopback(endpoint),
            verify=str(ca_bundle) if ca_bundle else True,
            config=sealed.merge(config) if config is not None else sealed,
            **acting_as,
        )


# -- moto, prepared once per process -----------------------------------------------------------------------

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


def _prepared() -> None:
    """moto imported, checked, patched and routed: once per process, by the first emulator to start."""
    global _ready
    with _prepare_lock:
        if not _ready:
            _prepare()
            _ready = True


def _dispatcher() -> WsgiApp:
    _prepared()
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


class Emulator:
    """A running emulator endpoint. ``start()`` owns the server it starts; ``attach()`` never stops one.

    Each started emulator is a fresh AWS account of its own (a random account id): moto keeps its state
    per process, and two deploys in one process (a test session, ``tapstack report --local`` next to
    ``up --local``) must not find each other's roles and log groups. IAM enforcement, though, is a
    switch of the whole moto process.
    """

    def __init__(self, url: str, ca_bundle: Path | None = None, account_id: str | None = None) -> None:
        self.url = url
        self.ca_bundle = ca_bundle
        self.account_id = account_id
        """Known for an emulator this process started; an attached one answers get_caller_identity."""
        self._server: Any | None = None
        self._thread: threading.Thread | None = None
        self._workdir: Path | None = None
        self.fleet: dict[str, Any] | None = None
        """Set while a fleet lives in this emulator (``living_fleet``): its agent interval and regions."""

    @property
    def owned(self) -> bool:
        """True when this process serves the emulator (``stop()`` stops it)."""
        return self._server is not None

    @classmethod
    def start(
        cls,
        timeout: float = 10.0,
        tls: bool = True,
        replication_delay: float = 0.0,
        concurrency_quota: int = quotas.DEFAULT_CONCURRENCY_QUOTA,
    ) -> Emulator:
        """moto in threads of this process, on a free loopback port chosen by the OS (no port races).

        ``tls=False`` serves plain http, where the TLS-only bucket policies refuse every object request: it
        exists to show that they do. ``replication_delay`` holds each S3 replication back by that many
        seconds (tests of a release's replication timeout). ``concurrency_quota`` is the emulated account's
        Lambda concurrency quota (``quotas``: a new account's 10 unless set). Emulators started in one process
        share their moto, each in an account of its own.
        """
        # One access-log line per request would bury the progress display.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # Every start, before any patch is applied or any request served: a moved target refuses here, in one line,
        # not as an AccessDenied three layers later (a few milliseconds).
        patches.verify()
        dispatcher = _dispatcher()
        from .keepalive import KeepAliveServer

        workdir = cert = context = server = None
        emulator: Emulator | None = None
        try:  # anything raised from here on, Ctrl-C and SIGTERM included, leaves no key and no thread behind
            if tls:
                workdir = Path(tempfile.mkdtemp(prefix="tapstack-emulator-"))
                cert, key = _self_signed(workdir)
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(cert, key)
            account_id = str(secrets.randbelow(9 * 10**11) + 10**11)
            replication.set_delay(account_id, replication_delay)
            quotas.set_concurrency_quota(account_id, concurrency_quota)
            served: list[Emulator] = []
            app = _fleet_status(_in_account(moto_fidelity.wsgi(dispatcher), account_id), served)
            server = KeepAliveServer(LOOPBACK, 0, app, ssl_context=context)
            emulator = cls(f"{'https' if tls else 'http'}://{LOOPBACK}:{server.server_port}", cert, account_id)
            emulator._server, emulator._workdir = server, workdir
            served.append(emulator)
            emulator._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_SECONDS},
                name="tapstack-emulator",
                daemon=True,
            )
            emulator._thread.start()
            lambda_invoke.install(emulator)  # Lambda Invoke runs the function's own code, for any client
            emulator._wait_until_answering(timeout)
        except BaseException:
            if emulator is not None and emulator._thread is not None and emulator._thread.ident is not None:
                emulator.stop()  # serving: shut the loop down, then remove the key
            else:  # shutdown() would wait for a loop that never ran
                if server is not None:
                    server.server_close()
                if workdir is not None:
                    shutil.rmtree(workdir, ignore_errors=True)
            raise
        return emulator

    @classmethod
    def attach(cls, url: str, ca_bundle: Path | None = None, timeout: float = 5.0) -> Emulator:
        """An emulator someone else serves (``tapstack up --local --keep`` in another shell)."""
        endpoint = check_loopback(url)
        if endpoint.startswith("https:") and ca_bundle is None:
            env = os.environ.get("AWS_CA_BUNDLE")
            if not env:
                raise EmulatorError(
                    f"{endpoint}: set AWS_CA_BUNDLE to the emulator's certificate, as printed by "
                    f"`tapstack up --local --keep`"
                )
            ca_bundle = Path(env)
        emulator = cls(endpoint, ca_bundle)
        emulator._wait_until_answering(timeout)
        return emulator

    def stop(self) -> None:
        if self._server is not None:
            lambda_invoke.uninstall(self.account_id)
            server, self._server = self._server, None
            stopping = threading.Thread(target=server.shutdown, name="tapstack-emulator-stop", daemon=True)
            stopping.start()
            stopping.join(STOP_SECONDS)
            if stopping.is_alive():
                logging.getLogger(__name__).warning("%s: serving thread did not stop; closing it anyway", self.url)
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
            self._thread = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def client(self, service: str, region: str, config: Any | None = None) -> Any:
        """A boto3 client that reaches this emulator only, whatever the environment says (see ``client``)."""
        return client(service, region, self.url, self.ca_bundle, config)

    def handler_session(self) -> Any:
        """The boto3 session a handler run in-process configures its clients from (``handler_session``)."""
        return handler_session()

    def environment(self) -> dict[str, str]:
        """What an AWS SDK in this process or a shell needs to talk to the emulator, and only to it."""
        env = {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
        }
        if self.ca_bundle is not None:
            env["AWS_CA_BUNDLE"] = str(self.ca_bundle)
        return env

    def living_fleet(self) -> dict[str, Any] | None:
        """What the serving process says of its living fleet (``fleet``), or None when none runs there."""
        try:
            found = self._moto_api(FLEET_PATH.removeprefix("/moto-api/"))
        except (OSError, ValueError) as err:
            raise EmulatorError(f"{self.url}: cannot ask whether a fleet runs there ({err})") from None
        return found if isinstance(found, dict) else None

    def enforce_iam(self, enabled: bool) -> None:
        """Turn moto's IAM evaluation on (every request must be allowed by its caller's policies) or off.

        Through moto's control API rather than ``moto.settings`` so that it also works on an attached server.
        """
        try:
            self._moto_api("reset-auth", data=b"0" if enabled else b"inf")
        except (OSError, ValueError) as err:
            raise EmulatorError(f"{self.url}: cannot switch IAM enforcement ({err})") from None

    def _moto_api(self, path: str, data: bytes | None = None, timeout: float = 5.0) -> Any:
        """A call to moto's own control API (``/moto-api/...``), JSON back."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/{path}",
            data=data,
            method="POST" if data else "GET",
            # Not form-encoded (urllib's default): moto reads the raw body.
            headers={"Content-Type": "application/octet-stream"},
        )
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]  # never via a proxy
        if self.url.startswith("https:"):
            context = ssl.create_default_context(cafile=self.ca_bundle)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self._moto_api("config", timeout=1.0)
                return
            except (OSError, ValueError) as err:
                last = err
                time.sleep(0.05)
        raise EmulatorError(f"{self.url} does not answer like a moto server after {timeout:.0f}s ({last})")

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
