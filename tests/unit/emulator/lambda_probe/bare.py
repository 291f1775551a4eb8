"""A Lambda handler without the explicit entry: the emulator must refuse it rather than swap the process for it."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> str:
    return "ran without its runtime"
