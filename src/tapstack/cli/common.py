"""What every command shares once it runs: where the stack comes from, how errors reach the user, the console.

Imported by a command's ``run``, never at CLI start (see ``args.py`` for what parsing needs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ..errors import TapStackError
from ..graph import Graph

if TYPE_CHECKING:
    from ..emulator.server import Emulator
    from ..stackfile import StackSettings

PIPE_COLUMNS = 120
"""Width of tables and wrapped lines written to a file or a pipe (a terminal's own width otherwise): rich's
default of 80 wraps a deploy table's rows; ``COLUMNS`` still decides when set."""


def _width(stream: object) -> int | None:
    isatty = getattr(stream, "isatty", None)
    if os.environ.get("COLUMNS") or (callable(isatty) and isatty()):
        return None  # rich reads the terminal, or COLUMNS
    return PIPE_COLUMNS


console = Console(stderr=False, highlight=False, width=_width(sys.stdout))
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))


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


def check_out(path: Path, suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse ``--out`` before any work: its folder must exist (a typo must not create a tree of folders), and
    its suffix must be one the command writes (never one format under another's name)."""
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"--out {path}: folder {folder} does not exist (create it, or write somewhere else)")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise CommandError(f"--out {path}: expected a file name ending in {', '.join(suffixes)}")


def write_file(path: Path, data: bytes) -> None:
    """Write a command's output file into its existing folder; an unwritable path is the user's to fix."""
    try:
        path.write_bytes(data)
    except OSError as err:
        raise CommandError(f"{path}: cannot write ({err.strerror})") from None


def headline(outcome: str, message: str) -> str:
    """A release's last line: its outcome, unless the message already starts by saying it (``release 1.0.0 is
    current ...``, ``dry run: would upload ...``), so no word is printed twice."""
    label = outcome.replace("_", " ")
    if message.lower().startswith(label) or (outcome in ("released", "noop") and message.startswith("release ")):
        return message
    return f"{label}: {message}"


def emulator_at(endpoint: str | None, replication_delay: float = 0.0) -> Emulator:
    """The emulator at ``endpoint``, or a new one; one that cannot start raises ``EmulatorError`` (a user error)."""
    from ..emulator.server import Emulator

    return Emulator.attach(endpoint) if endpoint else Emulator.start(replication_delay=replication_delay)
