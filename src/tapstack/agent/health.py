"""The release's own health check: HTTP GET on loopback until it answers 2xx for the right release.

An answer from the wrong release (an old process still holding the port) is not healthy: ``/healthz`` says
which release it serves, and a body naming another release keeps the check waiting until its deadline.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

HOST = "127.0.0.1"
RETRY_SECONDS = 0.25
# Loopback only, never through a proxy named in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Result:
    healthy: bool
    detail: str


def _probe(url: str, release: str, timeout: float) -> Result:
    try:
        with _OPENER.open(url, timeout=timeout) as reply:
            status, body = reply.status, reply.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return Result(False, f"GET {url} answered {exc.code}")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Result(False, f"GET {url} failed: {reason}")
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
        last = _probe(url, release, max(0.1, min(remaining, 5.0)))
        if last.healthy:
            return last
        died = gone()
        if died:
            return Result(False, f"{died} ({last.detail})")
        time.sleep(min(RETRY_SECONDS, max(0.0, deadline - time.monotonic())))
