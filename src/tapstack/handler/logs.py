"""Structured logs: one JSON object per line, to the invocation's log sink.

Lambda sends each stdout line to CloudWatch as one event and Logs Insights parses JSON lines without any
setup; writing whole lines avoids depending on how the runtime configured the root logger's level and format.
The sink is the runtime's (``tapstack.runtime``): stdout under Lambda, the function's own log in the emulator.
Callers pass identifiers and outcomes only, never a parameter or secret value.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .clock import iso, now

Sink = Callable[[str], None]


def log(sink: Sink, level: str, event: str, **fields: object) -> None:
    line = {"timestamp": iso(now()), "level": level, "event": event, **fields}
    sink(json.dumps(line, default=str, separators=(",", ":")))
