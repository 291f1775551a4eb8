"""``tapstack-app.toml``: how the agent starts the application and checks its health, and the version rule.

The file sits at the top of the application directory and is read before anything is packaged, so a typo in
it is a one-line error naming the key instead of a fleet that never turns healthy.

    start = ["python3", "app.py"]      # argv, run with cwd = the unpacked release directory

    [health]
    path = "/healthz"                 # HTTP GET, must answer 200
    port = 8080                       # the app listens on $PORT (the agent sets it to this port)
    timeout_seconds = 5               # optional, default 5
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ReleaseError

APP_FILE = "tapstack-app.toml"
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
VERSION_RULE = "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, no '..'"
DEFAULT_HEALTH_TIMEOUT = 5.0
MAX_HEALTH_TIMEOUT = 300.0
_TOP_KEYS = ("start", "health")
_HEALTH_KEYS = ("path", "port", "timeout_seconds")


@dataclass(frozen=True)
class AppSpec:
    start: tuple[str, ...]
    health_path: str
    health_port: int
    health_timeout: float

    def manifest_app(self) -> dict[str, Any]:
        """The ``app`` section of manifest.json, as the agent reads it."""
        timeout: float | int = int(self.health_timeout) if self.health_timeout.is_integer() else self.health_timeout
        return {
            "start": list(self.start),
            "health": {"path": self.health_path, "port": self.health_port, "timeout_seconds": timeout},
        }


def check_version(version: str) -> str:
    """The version names a key prefix (``artifacts/<version>/``), the manifest's release and a directory on
    every instance (``/opt/tapstack/releases/<version>``): the rule keeps it valid and harmless in all three,
    inside what the handler accepts for keys and releases."""
    if not VERSION_PATTERN.fullmatch(version) or ".." in version:
        raise ReleaseError(f"--version {version!r} is not a valid release id: use {VERSION_RULE}")
    return version


def _fail(path: Path, message: str) -> ReleaseError:
    return ReleaseError(f"{path}: {message}")


def _start(path: Path, value: object) -> tuple[str, ...]:
    if value is None:
        raise _fail(path, 'start is missing: give the argv that starts the app, e.g. start = ["python3", "app.py"]')
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a for a in value):
        raise _fail(path, f"start must be a non-empty list of non-empty strings (an argv), got {value!r}")
    if any("\x00" in a for a in value):
        raise _fail(path, f"start must not contain a NUL character (no process can be started with it), got {value!r}")
    return tuple(value)


def _health(path: Path, value: object) -> tuple[str, int, float]:
    if value is None:
        raise _fail(path, '[health] is missing: give path and port, e.g. [health] path = "/healthz" port = 8080')
    if not isinstance(value, dict):
        raise _fail(path, f"health must be a table with path, port and timeout_seconds, got {value!r}")
    unknown = sorted(set(value) - set(_HEALTH_KEYS))
    if unknown:
        raise _fail(path, f"health.{unknown[0]} is not a known key (allowed: {', '.join(_HEALTH_KEYS)})")
    route = value.get("path")
    if not isinstance(route, str) or not route.startswith("/") or not route.isprintable() or " " in route:
        raise _fail(path, f"health.path must be a URL path starting with '/', got {route!r}")
    port = value.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _fail(path, f"health.port must be an integer from 1 to 65535, got {port!r}")
    timeout = value.get("timeout_seconds", DEFAULT_HEALTH_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_HEALTH_TIMEOUT:
        raise _fail(path, f"health.timeout_seconds must be a number above 0 and at most 300, got {timeout!r}")
    return route, port, float(timeout)


def load_app_spec(directory: Path) -> AppSpec:
    path = directory / APP_FILE
    if not path.is_file():
        raise ReleaseError(
            f"{directory} has no {APP_FILE}: create it with the start command and health check, e.g. "
            'start = ["python3", "app.py"] and a [health] table with path = "/healthz", port = 8080 '
            "(see examples/app)"
        )
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise _fail(path, f"is not valid TOML ({err})") from None
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise _fail(path, f"{unknown[0]} is not a known key (allowed: {', '.join(_TOP_KEYS)})")
    route, port, timeout = _health(path, doc.get("health"))
    return AppSpec(_start(path, doc.get("start")), route, port, timeout)
