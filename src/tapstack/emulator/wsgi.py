"""The WSGI application shape shared by the emulator's server and the fidelity layers wrapped around moto."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
