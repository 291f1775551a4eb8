"""Structured logs: one JSON object per line on stdout.

Lambda sends each stdout line to CloudWatch as one event and Logs Insights parses JSON lines without any
setup; printing avoids depending on how the runtime configured the root logger's level and format.
Callers pass identifiers and outcomes only, never a parameter or secret value.
"""

from __future__ import annotations

import json
import sys

from .clock import iso, now


def log(level: str, event: str, **fields: object) -> None:
    line = {"timestamp": iso(now()), "level": level, "event": event, **fields}
    sys.stdout.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()
