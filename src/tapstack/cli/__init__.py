"""The `tapstack` command: one module per subcommand, each with ``register(parser)`` and ``run(args)``.

Only the chosen command's module is imported (``tapstack --help`` lists them from ``COMMANDS`` alone), and each
module imports pulumi, boto3, moto or rich inside ``run``: starting the CLI costs little more than argparse.
Nothing outside this package imports it: the libraries raise ``TapStackError``, which this entry point turns
into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import TapStackError

COMMANDS = {
    "synth": "run the program under mocks and print/write the resource graph",
    "check": "run the guard rules (TAP001...) on the graph; exit 1 on violations",
    "diff": "what a change to a deployed stack creates, updates, replaces or deletes; exit 1 if it destroys data",
    "up": "deploy the program into the embedded AWS emulator (--local) and check it",
    "invoke": "call a region's migration function (AWS, or a kept emulator) and print its reply",
    "release": "package DIR and roll it out to every region: canary, waves, automatic rollback",
    "diagram": "draw the architecture (regions, VPC tiers, data flows) with Graphviz",
    "report": "write one self-contained HTML report: summary, diagram, guard, IAM",
}
"""Command -> its one-line help, in the order `tapstack --help` lists them; the module is ``cli/<command>.py``."""


class _Version(argparse.Action):
    """``tapstack --version``: the installed distribution's version, read only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print TapStack's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import version

        sys.stdout.write(f"tapstack {version('tapstack')}\n")
        parser.exit()


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the line: the first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed and the arguments of the chosen one (all of them if ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        prog="tapstack",
        description="Build, check and locally deploy the TapStack Pulumi program without a cloud account.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else _chosen(argv)
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if argv is None or name == chosen:
            module = importlib.import_module(f"{__name__}.{name}")
            module.register(command)
            command.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None, *, fast: bool = False, leaving: bool = False) -> int:
    """Run the command on the line; ``fast``: with the start-up tricks of :mod:`.fast_start` for the length of the
    command (after parsing, so that `--help` and usage errors do not pay for them); ``leaving``: the process ends
    when the command does (see :func:`.fast_start.applied`)."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(words).parse_args(words)
    if fast:
        from . import fast_start

        with fast_start.applied(leaving=leaving):
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except TapStackError as err:
        from rich.markup import escape

        from .common import err_console

        err_console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM where a command turns it into Terminated
        from .common import err_console

        err_console.print("interrupted")
        return int(getattr(err, "exit_code", 130))


def entry() -> None:
    """The console script: ``main`` with the start-up tricks of :mod:`.fast_start`, the last of which is here: no
    interpreter teardown. Once the command has finished and its output is flushed, the process leaves with
    ``os._exit`` after running the exit handlers itself, as freeing a synth's objects one by one costs seconds for
    nothing. ``TAPSTACK_FAST_START=0`` turns every trick off. Tests call ``main``; a real ``pulumi up`` never passes
    through here."""
    code = main(fast=True, leaving=True)
    from .fast_start import enabled

    if not enabled():
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
