"""The emulator endpoint's life: moto served in-process over TLS on 127.0.0.1, or an existing loopback endpoint.

The address policy is ``loopback``, the certificate ``certificates``, the clients ``sessions``, moto's one-time
preparation ``preparation`` and SIGTERM ``signals``; this module starts, attaches to and stops an endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from . import lambda_invoke, moto_fidelity, patches, quotas, replication
from .certificates import self_signed
from .loopback import LOOPBACK, EmulatorError, check_loopback
from .preparation import dispatcher
from .sessions import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, client
from .wsgi import WsgiApp

POLL_SECONDS = 0.05
"""How often the serving thread looks for a stop request: ``stop()`` takes at most this long."""
STOP_SECONDS = 5.0
"""The longest ``stop`` waits for the serving thread (it notices a stop within POLL_SECONDS): a stop that a
stuck connection could hold up for ever would leave Ctrl-C and SIGTERM unanswered. Past it, the listening
socket and every connection are closed anyway and the daemon thread is left to the process's exit."""


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
        app_of_moto = dispatcher()
        from .keepalive import KeepAliveServer

        workdir = cert = context = server = None
        emulator: Emulator | None = None
        try:  # anything raised from here on, Ctrl-C and SIGTERM included, leaves no key and no thread behind
            if tls:
                workdir = Path(tempfile.mkdtemp(prefix="tapstack-emulator-"))
                cert, key = self_signed(workdir)
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(cert, key)
            account_id = str(secrets.randbelow(9 * 10**11) + 10**11)
            replication.set_delay(account_id, replication_delay)
            quotas.set_concurrency_quota(account_id, concurrency_quota)
            served: list[Emulator] = []
            app = _fleet_status(_in_account(moto_fidelity.wsgi(app_of_moto), account_id), served)
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
