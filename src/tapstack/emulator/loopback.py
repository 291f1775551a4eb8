"""The emulator's one address: 127.0.0.1, and nothing else, whatever the environment or a user says.

A local deploy must not be able to reach a real account by accident, so an ``--endpoint`` that is not loopback is
refused before any request is made, and every client the emulator builds names a loopback endpoint.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ..errors import TapStackError

LOOPBACK = "127.0.0.1"


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
