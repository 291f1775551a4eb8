"""The `tapstack` command: synth, check, up --local, invoke, diagram, report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.markup import escape

from . import commands
from .cli_common import CommandError, err_console
from .config import ConfigError
from .guard.serialization import OutputSerializationError
from .lib.naming import PhysicalNameError
from .stackfile import StackFileError

USER_ERRORS = (CommandError, ConfigError, StackFileError, PhysicalNameError, OutputSerializationError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapstack",
        description="Build, check and locally deploy the TapStack Pulumi program without a cloud account.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except USER_ERRORS as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
