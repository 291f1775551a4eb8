"""The agent's health check keeps its deadline whatever the application sends, and NUL argv never stops it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapstack.agent import health
from tapstack.agent.service import ProcessService, ServiceError


@pytest.fixture
def trickler() -> Iterator[int]:
    """A loopback server that answers 200 and then a body byte every 50 ms for 6 s (what a stuck app may do)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.settimeout(0.2)
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
                ends = time.monotonic() + 6
                while time.monotonic() < ends and not stop.is_set():
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break
                    time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def test_a_health_check_against_a_trickling_endpoint_ends_unhealthy_at_its_deadline(trickler: int) -> None:
    started = time.monotonic()
    result = health.check(trickler, "/healthz", "1.0.0", 1.0)
    took = time.monotonic() - started
    assert not result.healthy
    assert "within 1s" in result.detail and "did not end in time" in result.detail
    assert took < 2.0


def test_a_start_argv_with_a_nul_is_a_service_error_not_a_crash(tmp_path: Path) -> None:
    service = ProcessService(tmp_path / "app.log")
    with pytest.raises(ServiceError, match="cannot start"):
        service.restart(tmp_path, ["python3", "app\x00.py"], {})
    assert service.gone() == "the application is not running"
