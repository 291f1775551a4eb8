"""HTTP/1.1 keep-alive for the emulator's werkzeug server: one TLS handshake per client connection, not per call.

werkzeug's development server answers every request with ``Connection: close``, because ``http.server`` cannot
drain a request body the application left unread before it reads the next request line. Over TLS that makes
every AWS call a new TCP connection and a new handshake: on loopback an SQS call cost 16 ms over TLS against
2.5 ms over plain HTTP, and TLS handshakes were a third of the samples in a profile of a local deploy.

This handler keeps a connection open when its request body is delimited by ``Content-Length`` (or absent) and
the client speaks HTTP/1.1 without asking to close. It reads whatever the application left of that body
before the next request, and hides the socket from werkzeug's after-response drain, which would otherwise
swallow the next request. Anything else (a chunked request body, ``Connection: close``, HTTP/1.0) is closed
after the response exactly as werkzeug does. The server tracks open connections so that ``close_connections``
ends the idle ones when the emulator stops, rather than leaving their threads waiting for the idle timeout.

The TLS handshake happens in the connection's own thread, not in the accepting one: werkzeug's listening socket
shakes hands inside ``accept``, so one client that connected and never sent its hello (a command interrupted
between connect and handshake, whose socket nothing closes) held the whole server, and ``stop`` waited for it
for ever.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from .wsgi import WsgiApp

IDLE_SECONDS = 30.0
"""How long a kept connection may wait for its next request (and any one read may block) before it is closed."""


class _Drained(io.RawIOBase):
    """What werkzeug's after-response drain reads instead of the socket: nothing, so it stops at once."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return 0


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler (headers as moto expects them), with persistent connections where they are safe."""

    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        # A response leaves in several small writes; on a kept connection Nagle's algorithm would hold the last
        # one until the client's delayed ACK (~40 ms a call). urllib3 sets the same option on its side.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = self.server
        if isinstance(server, KeepAliveServer):
            server.opened(self.connection)
        self._body: LimitedStream | None = None
        self._socket_file: Any = None

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()  # bounded by the idle timeout, ended by close_connections
            except OSError:  # a client that left, never spoke TLS, or was stopped: its connection only
                self.close_connection = True
                return
        super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.server, KeepAliveServer):
                self.server.closed(self.connection)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # a kept connection left idle for IDLE_SECONDS is closed; that is not an error
        super().log_error(format, *args)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body = None
        if self.close_connection or self.request_version != "HTTP/1.1" or environ.get("wsgi.input_terminated"):
            return environ  # werkzeug's way: answer, then close
        try:
            length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            return environ
        self._body = LimitedStream(environ["wsgi.input"], length)
        environ["wsgi.input"] = self._body
        self._socket_file, self.rfile = self.rfile, _Drained()  # type: ignore[assignment]
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if self._body is not None and keyword.lower() == "connection" and value.lower() == "close":
            return  # the body is delimited: the connection can carry the next request
        super().send_header(keyword, value)

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if self._socket_file is not None:
                self.rfile, self._socket_file = self._socket_file, None
            if self._body is not None:
                try:
                    self._body.exhaust()  # what the application did not read belongs to this request
                except (OSError, ValueError, ClientDisconnected):
                    self.close_connection = True
                self._body = None


class KeepAliveServer(ThreadedWSGIServer):
    """A threaded werkzeug server that knows its open connections, to close the idle ones when it stops."""

    def __init__(self, host: str, port: int, app: WsgiApp, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(host, port, app, handler=KeepAliveRequestHandler, ssl_context=ssl_context)
        if isinstance(self.socket, ssl.SSLSocket):  # accept() only accepts; the handler shakes hands
            vars(self.socket)["do_handshake_on_connect"] = False
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def opened(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every open connection: a thread waiting for a next request sees the end and returns."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
