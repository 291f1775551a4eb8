"""Where the agent looks: region, deployment bucket, install root; read from a small JSON file on AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/tapstack/agent.json")
DEFAULT_ROOT = Path("/opt/tapstack")


@dataclass(frozen=True)
class AgentConfig:
    region: str
    bucket: str
    root: Path = DEFAULT_ROOT
    """``<root>/releases/<release>/``, the ``current`` symlink and the agent's own state live here."""
    port: int | None = None
    """Overrides the manifest's health port: the emulator runs many instances on one loopback."""

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG) -> AgentConfig:
        """The file user data writes; a missing or malformed one is a setup error, reported by ``__main__``."""
        doc: Any = json.loads(path.read_text())
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) and doc[k] for k in ("region", "bucket")):
            raise ValueError(f"{path}: expected a JSON object with non-empty region and bucket")
        port = doc.get("port")
        return cls(
            region=doc["region"],
            bucket=doc["bucket"],
            root=Path(doc.get("root") or DEFAULT_ROOT),
            port=int(port) if port is not None else None,
        )
