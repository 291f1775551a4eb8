"""What every command shares once it runs: where the stack comes from, how errors reach the user, the console.

Imported by a command's ``run``, never at CLI start (see ``args.py`` for what parsing needs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ..errors import TapStackError
from ..graph import Graph

if TYPE_CHECKING:
    from ..emulator.server import Emulator
    from ..stackfile import StackSettings

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


class CommandError(TapStackError):
    """A failure the user can act on: printed as one line, exit code 2, no traceback."""


def settings_from_args(args: argparse.Namespace) -> StackSettings:
    # Reading a stack file loads the configuration model and with it pulumi: `check --graph` never needs it.
    from .. import stackfile

    return stackfile.with_local_secret(stackfile.load(args.config, args.sets))


def synthesize(args: argparse.Namespace) -> Graph:
    """The graph of the configured program, or the one in ``--graph``."""
    graph_path: Path | None = getattr(args, "graph", None)
    if graph_path is not None:
        if args.config or args.sets:
            raise CommandError("--graph reads a finished graph: drop --config/--set, or drop --graph")
        if not graph_path.is_file():
            raise CommandError(f"{graph_path}: no such graph file (write one with `tapstack synth --out`)")
        try:
            return Graph.read(graph_path)
        except ValueError as err:
            raise CommandError(str(err)) from None
    from ..program import main as program
    from ..synth import synthesize as run

    settings = settings_from_args(args)
    return run(program, settings.values, stack=settings.stack, secret_keys=settings.secret_keys)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def write_file(path: Path, data: bytes) -> None:
    """Write a command's output file, creating its folder; an unwritable path is the user's to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as err:
        raise CommandError(f"{path}: cannot write ({err.strerror})") from None


def emulator_at(endpoint: str | None, replication_delay: float = 0.0) -> Emulator:
    """The emulator at ``endpoint``, or a new one; one that cannot start raises ``EmulatorError`` (a user error)."""
    from ..emulator.server import Emulator

    return Emulator.attach(endpoint) if endpoint else Emulator.start(replication_delay=replication_delay)
