"""What this instance has installed and what it refused, kept on local disk between passes.

``current`` is the release serving, ``previous`` the one to return to; ``failed`` remembers the pointer
(by fingerprint) whose release was refused, so it is not retried until the pointer changes. The file is
replaced atomically; an unreadable one is treated as empty (the next pass reinstalls, nothing worse).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Refused
from .pointer import App

STATE_FILE = "state.json"


@dataclass(frozen=True)
class Installed:
    release: str
    directory: str
    digest: str
    app: App

    def to_json(self) -> dict[str, Any]:
        return {"release": self.release, "directory": self.directory, "digest": self.digest, "app": self.app.to_json()}

    @classmethod
    def from_json(cls, doc: Any) -> Installed | None:
        if not isinstance(doc, dict):
            return None
        return cls(str(doc["release"]), str(doc["directory"]), str(doc["digest"]), App.from_json(doc["app"], "state"))


@dataclass(frozen=True)
class Failed:
    fingerprint: str
    release: str
    reason: str


@dataclass
class State:
    current: Installed | None = None
    previous: Installed | None = None
    failed: Failed | None = None
    converged: str = ""
    """Fingerprint of the pointer this instance last followed successfully."""

    @classmethod
    def load(cls, root: Path) -> State:
        try:
            doc = json.loads((root / STATE_FILE).read_text())
            failed = doc.get("failed")
            return cls(
                current=Installed.from_json(doc.get("current")),
                previous=Installed.from_json(doc.get("previous")),
                failed=Failed(**failed) if isinstance(failed, dict) else None,
                converged=str(doc.get("converged") or ""),
            )
        except (OSError, ValueError, KeyError, TypeError, Refused):
            return cls()

    def save(self, root: Path) -> None:
        doc = {
            "current": self.current.to_json() if self.current else None,
            "previous": self.previous.to_json() if self.previous else None,
            "failed": self.failed.__dict__ if self.failed else None,
            "converged": self.converged,
        }
        root.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".state-", dir=root)
        with os.fdopen(fd, "w") as out:
            json.dump(doc, out, indent=2, sort_keys=True)
        os.replace(temporary, root / STATE_FILE)
