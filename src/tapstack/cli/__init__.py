"""The `tapstack` command: one module per subcommand, each with ``register(sub)`` and ``run(args)``.

Nothing outside this package imports it: the libraries (guard, emulator, diagram, report, release) raise
``TapStackError`` and this entry point turns any of them into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.markup import escape

from ..errors import TapStackError
from . import check, diagram, invoke, report, synth, up
from .common import err_console

COMMANDS = (synth, check, up, invoke, diagram, report)
"""Registration order is the order `tapstack --help` lists them in."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapstack",
        description="Build, check and locally deploy the TapStack Pulumi program without a cloud account.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TapStackError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
