"""The CLI's commands, one registrar per module that owns the command (argparse subparsers)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .emulator.command import register as register_emulator
from .guard.command import register as register_check
from .report_command import register as register_report
from .synth_command import register as register_synth

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRARS: list[Registrar] = [
    register_synth,
    register_check,
    register_report,
    register_emulator,
]
