"""The emulator's HTTP server keeps connections open where safe and never lets one request bleed into the next."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from tapstack.emulator.keepalive import KeepAliveServer
from tapstack.emulator.server import Emulator

Start = Callable[[Any], tuple[KeepAliveServer, int]]


def _echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with the path and the body it read (as WSGI says: up to Content-Length, or to the end of a
    dechunked body); ``/ignore`` leaves the body unread."""
    stream = environ["wsgi.input"]
    if environ["PATH_INFO"] == "/ignore":
        body = b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    reply = json.dumps({"path": environ["PATH_INFO"], "body": body.decode()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))])
    return [reply]


class _Counting(KeepAliveServer):
    """Counts the TCP connections it accepted."""

    accepted = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        self.accepted += 1
        return super().get_request()


@pytest.fixture
def server() -> Iterator[_Counting]:
    srv = _Counting("127.0.0.1", 0, _echo)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.close_connections()
    thread.join()


def _call(conn: http.client.HTTPConnection, path: str, body: bytes = b"", **headers: str) -> dict[str, Any]:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return {"connection": response.getheader("Connection"), **json.loads(response.read())}


def test_three_calls_on_one_client_connection_are_one_tcp_connection(server: _Counting) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    replies = [_call(conn, f"/{n}", f"body-{n}".encode()) for n in range(3)]
    assert [(r["path"], r["body"]) for r in replies] == [("/0", "body-0"), ("/1", "body-1"), ("/2", "body-2")]
    assert server.accepted == 1
    assert {r["connection"] for r in replies} == {None}


def test_a_body_the_application_did_not_read_is_not_taken_for_the_next_request(server: _Counting) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    assert _call(conn, "/ignore", b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")["body"] == ""
    assert _call(conn, "/next", b"after")["path"] == "/next"
    assert server.accepted == 1


def test_a_chunked_request_or_a_client_asking_to_close_gets_the_connection_closed(server: _Counting) -> None:
    chunked = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    chunked.request("POST", "/chunked", body=iter([b"a", b"b"]), encode_chunked=True)
    response = chunked.getresponse()
    assert (response.getheader("Connection"), json.loads(response.read())["body"]) == ("close", "ab")
    asking = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    assert _call(asking, "/bye", b"x", Connection="close")["connection"] == "close"


def test_stopping_ends_the_threads_of_idle_kept_connections_at_once(server: _Counting) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    _call(conn, "/kept")
    waiting = [t for t in threading.enumerate() if "process_request_thread" in t.name]
    server.close_connections()
    deadline = time.monotonic() + 2
    while any(t.is_alive() for t in waiting) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not [t for t in waiting if t.is_alive()]


def test_boto3_calls_to_the_emulator_reuse_one_tls_connection() -> None:
    with Emulator.start() as emulator:
        server = emulator._server
        assert isinstance(server, KeepAliveServer)
        sqs = emulator.client("sqs", "us-east-1")
        for _ in range(5):
            sqs.list_queues()
        assert len(server._connections) == 1


def test_a_client_leaving_mid_body_costs_its_connection_only_and_prints_nothing(
    server: _Counting, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
        raw.sendall(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        reply = raw.recv(65536)
        raw.shutdown(socket.SHUT_WR)  # the other 90 bytes never come
        assert reply.startswith(b"HTTP/1.1 200")
        raw.settimeout(5)
        while raw.recv(65536):  # the server closes its side
            pass
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    assert _call(conn, "/after", b"ok")["body"] == "ok"
    assert "Traceback" not in capsys.readouterr().err


def test_an_http_1_0_client_asking_to_keep_alive_still_gets_the_connection_closed(server: _Counting) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
        raw.sendall(b"POST /old HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi")
        reply = b""
        while chunk := raw.recv(65536):  # the server ends the connection after one answer
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Connection: close" in head and json.loads(body) == {"path": "/old", "body": "hi"}


def test_a_client_that_never_sends_its_tls_hello_neither_holds_up_others_nor_the_emulators_stop() -> None:
    """An interrupted command can leave a connected socket that never shakes hands (nothing closes it)."""
    emulator = Emulator.start()
    silent = socket.create_connection(("127.0.0.1", int(emulator.url.rsplit(":", 1)[1])), timeout=5)
    try:
        time.sleep(0.2)  # the server has accepted it by now
        answered = threading.Event()

        def call() -> None:
            emulator.client("sqs", "us-east-1").list_queues()
            answered.set()

        threading.Thread(target=call, daemon=True).start()
        assert answered.wait(10), "a silent client held the server"
        stopping = threading.Thread(target=emulator.stop, daemon=True)
        stopping.start()
        stopping.join(10)
        assert not stopping.is_alive(), "stop waited for the silent client"
    finally:
        silent.close()
