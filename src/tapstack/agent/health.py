"""The release's own health check: HTTP GET on loopback until it answers 2xx for the right release.

Every probe ends by its deadline, whatever the application does (see ``_exchange``): a pass that hung here
would write no heartbeat and could not follow a rollback. An answer from the wrong release (an old process
still holding the port) is not healthy: ``/healthz`` says which release it serves, and a body naming another
release keeps the check waiting until its deadline.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

HOST = "127.0.0.1"
RETRY_SECONDS = 0.25
MAX_BODY = 64 * 1024
PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class Result:
    healthy: bool
    detail: str


def _exchange(port: int, path: str, deadline: float) -> bytes:
    """One HTTP/1.0 GET on loopback, the whole answer read before ``deadline`` (time.monotonic) or TimeoutError.

    A socket timeout bounds each read, not the answer: a peer sending a byte a second holds a urllib read
    for as long as it likes. Here every read gets only the time left, so the deadline holds whatever the
    peer does. HTTP/1.0 with ``Connection: close``: the body ends at EOF, never chunked. Never via a proxy.
    """
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no time left")
    with socket.create_connection((HOST, port), timeout=left) as sock:
        request = f"GET {path} HTTP/1.0\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("ascii"))
        received = bytearray()
        while len(received) <= MAX_BODY:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the answer did not end in time ({len(received)} bytes so far)")
            sock.settimeout(left)
            try:
                chunk = sock.recv(16 * 1024)
            except socket.timeout:  # noqa: UP041 (TimeoutError only from 3.10 on; the agent also runs on 3.9)
                raise TimeoutError(f"the answer did not end in time ({len(received)} bytes so far)") from None
            if not chunk:
                break
            received += chunk
        return bytes(received)


def _probe(port: int, path: str, release: str, deadline: float) -> Result:
    url = f"http://{HOST}:{port}{path}"
    try:
        answer = _exchange(port, path, deadline)
    except (OSError, ValueError) as exc:  # socket.timeout and TimeoutError are OSErrors
        return Result(False, f"GET {url} failed: {exc or type(exc).__name__}")
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else 0
    if not 200 <= status < 300:
        return Result(False, f"GET {url} answered {status or 'no HTTP status'}")
    try:
        served = json.loads(body).get("release")
    except (ValueError, AttributeError):
        served = None
    if served is not None and served != release:
        return Result(False, f"GET {url} answered for release {served!r}, expected {release!r}")
    return Result(True, f"GET {url} answered {status}")


def check(
    port: int,
    path: str,
    release: str,
    deadline_seconds: float,
    gone: Callable[[], str | None] = lambda: None,
) -> Result:
    """Retry until healthy or ``deadline_seconds`` have passed; ``gone`` says early that the app died."""
    url = f"http://{HOST}:{port}{path}"
    deadline = time.monotonic() + deadline_seconds
    last = Result(False, f"GET {url} was never tried")
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Result(False, f"no healthy answer within {deadline_seconds:g}s ({last.detail})")
        last = _probe(port, path, release, time.monotonic() + max(0.1, min(remaining, PROBE_SECONDS)))
        if last.healthy:
            return last
        died = gone()
        if died:
            return Result(False, f"{died} ({last.detail})")
        time.sleep(min(RETRY_SECONDS, max(0.0, deadline - time.monotonic())))
